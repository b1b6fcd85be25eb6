#!/usr/bin/python3
"""make_vol_oracle.py: OpenCV's decode of every legacy frame of some SMC files, under every rule, for the VOL tests to compare against.

Reads each file with Debian's h5py (HDF5 1.10: no VOL connector involved) and
takes as a frame every 1-D uint8 dataset whose bytes start with a PNG
signature or a JPEG SOI marker. For each frame and rule it writes
OUT/<n>.<rule>.raw (tests/oracle/make_oracle.py's decode: RGB(A), native byte
order) and one line of OUT/manifest.tsv:

    file  path  rule  default  status  height  width  channels  element_size  raw

`default` is 1 for the rule the connector picks by itself (mask when a path
component contains "mask", native otherwise: the SMC readers' convention,
written here independently of the connector's own code); status is "ok" or
"fail" (OpenCV returns no image).
"""
import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))
from make_oracle import decode  # noqa: E402

RULES = ("native", "color", "mask", "luma")


def frames(path):
    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and obj.dtype == np.uint8 and obj.shape[0] > 0:
            data = obj[()].tobytes()
            if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:2] == b"\xff\xd8":
                found.append(("/" + name, data))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lines, n = [], 0
    for path in args.files:
        for name, data in frames(path):
            default = "mask" if any("mask" in part.lower() for part in name.split("/")) else "native"
            for rule in RULES:
                img = decode(data, rule)
                raw = f"{n}.{rule}.raw"
                fields = [os.path.basename(path), name, rule, "1" if rule == default else "0"]
                if img is None:
                    lines.append("\t".join(fields + ["fail", "0", "0", "0", "0", "-"]))
                    continue
                img.tofile(os.path.join(args.out, raw))
                channels = 1 if img.ndim == 2 else img.shape[2]
                lines.append("\t".join(fields + ["ok", str(img.shape[0]), str(img.shape[1]), str(channels),
                                                 str(img.dtype.itemsize), raw]))
            n += 1
    with open(os.path.join(args.out, "manifest.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"make_vol_oracle: {n} frames, {len(lines)} decodes")
    return 0 if n else 1


if __name__ == "__main__":
    sys.exit(main())
