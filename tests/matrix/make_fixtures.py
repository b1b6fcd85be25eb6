#!/usr/bin/python3
"""make_fixtures.py: repack the SMC samples with h5imgrepack and write the OpenCV oracle of every frame, for the matrix tests.

For each SAMPLE given, writes into OUT:

    SAMPLE-stem.h5            the sample repacked by h5imgrepack (read later by HDF5 1.14.6 only)
    SAMPLE-stem.frames/       one file per legacy frame (its stored bytes, named after its path
                              with '/' as '+'), and tests/oracle/make_oracle.py's manifest.tsv
                              and .raw decodes of them under the rules native and mask
    SAMPLE-stem.frames/frames.tsv   "file name <TAB> HDF5 path" for every frame

A frame is a non-empty 1-D uint8 dataset starting with a PNG or JPEG signature, the same test
h5imgrepack applies; frames OpenCV cannot decode are listed too (the manifest marks them
"fail"), since the tests check that they stayed raw. Run with Debian's /usr/bin/python3: the
legacy files are read with its h5py, without any filter.
"""
import argparse
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

SIGNATURES = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"))
MAKE_ORACLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle", "make_oracle.py")


def frames(path):
    """(HDF5 path, bytes, extension) of every frame, in visiting order."""
    found = []

    def visit(name, obj):
        if not isinstance(obj, h5py.Dataset) or obj.ndim != 1 or obj.dtype != np.uint8 or obj.size == 0:
            return
        data = obj[()].tobytes()
        for signature, extension in SIGNATURES:
            if data.startswith(signature):
                found.append(("/" + name, data, extension))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repack", required=True, help="the h5imgrepack executable")
    parser.add_argument("--out", required=True)
    parser.add_argument("samples", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for sample in args.samples:
        stem = os.path.splitext(os.path.basename(sample))[0]
        repacked = os.path.join(args.out, stem + ".h5")
        result = subprocess.run([args.repack, "--force", "--quiet", sample, repacked], capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"h5imgrepack {sample} {repacked} exited {result.returncode}:\n{result.stderr}")
        frame_dir = os.path.join(args.out, stem + ".frames")
        shutil.rmtree(frame_dir, ignore_errors=True)
        os.makedirs(frame_dir)
        listed, files = [], []
        for path, data, extension in frames(sample):
            name = path.strip("/").replace("/", "+") + extension
            with open(os.path.join(frame_dir, name), "wb") as f:
                f.write(data)
            listed.append(f"{name}\t{path}\n")
            files.append(os.path.join(frame_dir, name))
        if not files:
            sys.exit(f"{sample} has no PNG or JPEG frames: not an SMC sample")
        with open(os.path.join(frame_dir, "frames.tsv"), "w") as f:
            f.writelines(listed)
        result = subprocess.run([sys.executable, MAKE_ORACLE, "--out", frame_dir, "--rules", "native,mask", *files],
                                capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"make_oracle.py on {len(files)} frames of {sample} exited {result.returncode}:\n{result.stderr}")
        print(f"{sample}: {len(files)} frames, repacked to {repacked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
