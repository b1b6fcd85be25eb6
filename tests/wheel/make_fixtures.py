#!/usr/bin/python3
"""make_fixtures.py: repacks the committed samples with h5imgrepack and stores Debian's OpenCV 4.6 decode of every repacked frame, for the wheel tests.

Run with Debian's /usr/bin/python3 (h5py 3.7, OpenCV 4.6): the filter's rules are
defined as bit-identical to that OpenCV, so the arrays written here are the oracle
the wheel pythons (whose opencv-python-headless is another OpenCV) are judged by.

    make_fixtures.py --repack BUILD/tools/h5imgrepack --out DIR h5_samples/*.smc

writes DIR/<sample>.h5img.h5, DIR/oracle/<sample>/<n>.npy and DIR/manifest.json:
{"opencv": VERSION, "samples": {NAME: {"file": PATH, "frames": [{"path", "npy",
"rule", "flags", "sha1"}]}}}, one entry per dataset carrying filter 49301.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys

import cv2
import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))
import make_oracle  # noqa: E402  (the project's one OpenCV oracle: decode(data, rule))

FILTER = 49301
RULES = {1: "native", 2: "color", 3: "mask", 4: "luma"}
FLAG_BGR = 1


def filter_cd(dset):
    plist = dset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code, _, values, _ = plist.get_filter(i)
        if code == FILTER:
            return tuple(values)
    return None


def filtered_datasets(group, prefix=""):
    """(path, dataset) of every dataset below `group` whose pipeline holds the filter (hard links only, so a
    second name of one dataset is listed under each name, as readers meet it)."""
    for name in group:
        if not isinstance(group.get(name, getlink=True), h5py.HardLink):
            continue
        obj = group[name]
        path = f"{prefix}/{name}".lstrip("/")
        if isinstance(obj, h5py.Group):
            yield from filtered_datasets(obj, path)
        elif filter_cd(obj) is not None:
            yield path, obj


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repack", required=True, help="the built h5imgrepack")
    ap.add_argument("--out", required=True)
    ap.add_argument("samples", nargs="+")
    args = ap.parse_args()
    if not cv2.__version__.startswith("4.6."):
        sys.exit(f"make_fixtures.py: the oracle must be OpenCV 4.6 (Debian's), this python has {cv2.__version__}")
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    manifest = {"opencv": cv2.__version__, "samples": {}}
    for src in args.samples:
        name = os.path.basename(src)
        dst = os.path.join(args.out, name + ".h5img.h5")
        done = subprocess.run([args.repack, "-q", src, dst], capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"make_fixtures.py: {args.repack} {src} exited with {done.returncode}: {done.stderr.strip()}")
        oracle_dir = os.path.join(args.out, "oracle", name)
        os.makedirs(oracle_dir)
        frames = []
        with h5py.File(dst, "r") as f:
            for path, dset in filtered_datasets(f):
                cd = filter_cd(dset)
                mask, chunk = dset.id.read_direct_chunk((0,) * dset.ndim)
                if mask != 0:
                    sys.exit(f"make_fixtures.py: {name}:{path}: chunk stored with the filter skipped (mask {mask:#x})")
                want = make_oracle.decode(bytes(chunk), RULES[cd[1]])
                if want is None:
                    sys.exit(f"make_fixtures.py: {name}:{path}: OpenCV {cv2.__version__} cannot decode the chunk")
                if cd[2] & FLAG_BGR and want.ndim == 3:
                    want = np.ascontiguousarray(want[:, :, [2, 1, 0, 3][: want.shape[2]]])
                npy = os.path.join(oracle_dir, f"{len(frames):04d}.npy")
                np.save(npy, want)
                frames.append({"path": path, "npy": npy, "rule": cd[1], "flags": cd[2],
                               "sha1": hashlib.sha1(bytes(chunk)).hexdigest()})
        if not frames:
            sys.exit(f"make_fixtures.py: {dst} holds no dataset with filter {FILTER}")
        manifest["samples"][name] = {"file": dst, "frames": frames}
        print(f"{name}: {len(frames)} frames repacked, OpenCV {cv2.__version__} oracle in {oracle_dir}")
    with open(os.path.join(args.out, "manifest.json"), "w") as fp:
        json.dump(manifest, fp, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
