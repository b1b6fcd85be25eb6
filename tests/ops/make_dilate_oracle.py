#!/usr/bin/python3
"""make_dilate_oracle.py: cv2.dilate with an n x n square of ones, n = 1..63, over generated and sample masks, for test_dilate.c."""
import argparse
import os

import cv2
import h5py
import numpy as np

SIDES = range(1, 64)


def generated():
    """Masks that exercise the border and the window arithmetic: sizes below, at and above n, odd and even."""
    rng = np.random.default_rng(17)
    cases = {}
    for h, w in ((1, 1), (1, 9), (9, 1), (2, 3), (5, 4), (7, 64), (31, 17), (64, 64), (100, 3), (130, 201)):
        cases[f"noise_{h}x{w}"] = rng.integers(0, 256, (h, w), dtype=np.uint8)
        sparse = np.zeros((h, w), np.uint8)
        count = max(1, h * w // 97)
        sparse[rng.integers(0, h, count), rng.integers(0, w, count)] = rng.integers(1, 256, count, dtype=np.uint8)
        cases[f"sparse_{h}x{w}"] = sparse
    edges = np.zeros((40, 50), np.uint8)
    edges[0, 0], edges[0, 49], edges[39, 0], edges[39, 49], edges[20, 25] = 255, 200, 150, 100, 50
    cases["corners_40x50"] = edges
    blob = np.zeros((120, 90), np.uint8)
    cv2.circle(blob, (40, 60), 25, 255, -1)
    cases["blob_120x90"] = cv2.GaussianBlur(blob, (9, 9), 3)
    return cases


def sample_masks(samples):
    """The sample files' mask frames as the mask rule decodes them: max over IMREAD_COLOR's channels."""
    cases = {}
    for name in ("renderme_sample.smc", "dna_sample.smc"):
        with h5py.File(os.path.join(samples, name), "r") as f:
            paths = []
            f.visititems(lambda p, o: paths.append(p) if isinstance(o, h5py.Dataset) and "mask" in p.lower() else None)
            for path in sorted(paths):
                image = cv2.imdecode(f[path][()], cv2.IMREAD_COLOR)
                if image is not None:
                    cases[name.split("_")[0] + "_" + path.replace("/", "_")] = image.max(axis=2)
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--samples", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = {**generated(), **sample_masks(args.samples)}
    assert len(cases) > 20
    with open(os.path.join(args.out, "dilate.tsv"), "w") as manifest:
        for name, mask in cases.items():
            mask = np.ascontiguousarray(mask, np.uint8)
            mask.tofile(os.path.join(args.out, name + ".in"))
            with open(os.path.join(args.out, name + ".dilate"), "wb") as out:
                for n in SIDES:
                    out.write(cv2.dilate(mask, np.ones((n, n), np.uint8), iterations=1).tobytes())
            manifest.write(f"{name}\t{mask.shape[0]}\t{mask.shape[1]}\n")
    print(f"{len(cases)} masks, n = 1..{SIDES[-1]}, written to {args.out}")


if __name__ == "__main__":
    main()
