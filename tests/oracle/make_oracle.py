#!/usr/bin/python3
"""make_oracle.py: decode images with OpenCV under every h5img output rule, for the C tests to compare against.

For each input file and each rule, writes OUT/<file name>.<rule>.raw (C-contiguous, RGB(A)
channel order, native byte order: exactly what h5img produces without H5IMG_FLAG_BGR) and
one line of OUT/manifest.tsv:

    name  rule  status  height  width  channels  element_size

status is "ok", or "fail" when OpenCV returns no image (then the C side must fail too).
Rules: native = IMREAD_UNCHANGED, color = IMREAD_COLOR, mask = max over IMREAD_COLOR's
channels, luma = IMREAD_GRAYSCALE; EXIF orientation is never applied.
"""
import argparse
import os
import sys

import cv2
import numpy as np

NO_EXIF = cv2.IMREAD_IGNORE_ORIENTATION


def decode(data, rule):
    buf = np.frombuffer(data, dtype=np.uint8)
    if rule == "native":
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    elif rule == "color":
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR | NO_EXIF)
    elif rule == "mask":
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR | NO_EXIF)
        if img is not None:
            img = np.max(img, axis=2)
    elif rule == "luma":
        img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE | NO_EXIF)
    else:
        raise ValueError(rule)
    if img is None:
        return None
    if img.ndim == 3 and img.shape[2] == 3:
        img = img[:, :, ::-1]
    elif img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, [2, 1, 0, 3]]
    return np.ascontiguousarray(img)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory for .raw files and manifest.tsv")
    parser.add_argument("--rules", default="native,color,mask,luma")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rules = args.rules.split(",")
    lines = []
    for path in args.files:
        name = os.path.basename(path)
        with open(path, "rb") as f:
            data = f.read()
        for rule in rules:
            img = decode(data, rule)
            if img is None:
                lines.append(f"{name}\t{rule}\tfail\t0\t0\t0\t0")
                continue
            channels = 1 if img.ndim == 2 else img.shape[2]
            img.tofile(os.path.join(args.out, f"{name}.{rule}.raw"))
            lines.append(f"{name}\t{rule}\tok\t{img.shape[0]}\t{img.shape[1]}\t{channels}\t{img.dtype.itemsize}")
    with open(os.path.join(args.out, "manifest.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
