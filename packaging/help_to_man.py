#!/usr/bin/env python3
"""help_to_man.py TOOL SECTION OUT: write TOOL's man page from its --help (the tools' full manual) and --version."""
import re
import subprocess
import sys

HEADER = re.compile(r"^[A-Z][A-Z ]+$")


def roff(line):
    """One line of text as roff, with nothing in it taken for a request or an escape."""
    line = line.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + line if line[:1] in (".", "'") else line


def dedent(lines):
    indents = [len(l) - len(l.lstrip()) for l in lines if l.strip()]
    cut = min(indents) if indents else 0
    return [l[cut:] for l in lines]


def main():
    tool, section, out = sys.argv[1:4]
    name = tool.rsplit("/", 1)[-1]
    text = subprocess.run([tool, "--help"], check=True, capture_output=True, text=True).stdout
    version = subprocess.run([tool, "--version"], check=True, capture_output=True, text=True).stdout.split()[-1]
    sections, current = [], None
    preamble = []
    for line in text.rstrip("\n").split("\n"):
        if HEADER.match(line):
            current = [line.strip(), []]
            sections.append(current)
        elif current is None:
            preamble.append(line)
        else:
            current[1].append(line)
    titles = [title for title, _ in sections]
    # h5imgrepack opens with "Usage:" lines and a one-line summary instead of NAME and SYNOPSIS.
    if "NAME" not in titles:
        usage = [l for l in preamble if l.strip() and (l.startswith("Usage:") or l.startswith(" "))]
        summary = next((l.strip() for l in preamble if l.strip() and l not in usage), "")
        summary = summary[0].lower() + summary[1:].rstrip(".") if summary else ""
        synopsis = [re.sub(r"^(Usage:)?\s*", "", l) for l in usage]
        sections[:0] = [["NAME", [f"{name} - {summary}"]], ["SYNOPSIS", synopsis]]
    page = [f'.TH {name.upper()} {section} "" "h5img {version}" "User Commands"']
    for title, lines in sections:
        lines = dedent(lines)
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        page.append(f".SH {title}")
        if title == "NAME":
            tool_name, _, description = " ".join(l.strip() for l in lines).partition(" - ")
            page.append(f"{roff(tool_name)} \\- {roff(description)}")
            continue
        # The manual is laid out for a terminal already: keep its lines as they are.
        page.append(".nf")
        page.extend(roff(l) if l.strip() else "" for l in lines)
        page.append(".fi")
    with open(out, "w") as f:
        f.write("\n".join(page) + "\n")


if __name__ == "__main__":
    main()
