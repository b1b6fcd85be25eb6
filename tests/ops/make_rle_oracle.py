#!/usr/bin/env python3
"""make_rle_oracle.py: pycocotools' COCO RLE strings of generated, sample and dilated masks, for test_rle.c (run with a venv that has pycocotools)."""
import argparse
import os

import numpy as np
from pycocotools import mask as coco


def dilate_oracle_masks(directory):
    """The masks of make_dilate_oracle.py's output (generated and sample masks, decoded there by OpenCV),
    as they are and dilated by 5 and by 15 (cv2.dilate's results from the same output)."""
    masks = {}
    with open(os.path.join(directory, "dilate.tsv")) as manifest:
        for line in manifest:
            name, h, w = line.split("\t")
            h, w = int(h), int(w)
            masks[name] = np.fromfile(os.path.join(directory, name + ".in"), np.uint8).reshape(h, w)
            dilated = np.fromfile(os.path.join(directory, name + ".dilate"), np.uint8).reshape(-1, h, w)
            masks[name + "_dilated5"], masks[name + "_dilated15"] = dilated[4], dilated[14]
    return masks


def generated():
    rng = np.random.default_rng(49301)
    cases = {}
    for h, w in ((1, 1), (1, 5), (5, 1), (3, 4), (16, 16), (37, 23), (200, 300)):
        cases[f"noise_{h}x{w}"] = rng.integers(0, 256, (h, w), dtype=np.uint8)
        blocks = (rng.random((h, w)) < 0.03).astype(np.uint8) * 255
        cases[f"sparse_{h}x{w}"] = blocks
    cases["empty_20x30"] = np.zeros((20, 30), np.uint8)
    cases["full_20x30"] = np.full((20, 30), 255, np.uint8)
    first = np.zeros((9, 7), np.uint8)
    first[0, 0] = 255
    cases["first_pixel_9x7"] = first
    last = np.zeros((9, 7), np.uint8)
    last[-1, -1] = 255
    cases["last_pixel_9x7"] = last
    # Long runs: counts of millions need 5-7 digits, and a short run between
    # two long ones gives large negative differences.
    big = np.zeros((2048, 2448), np.uint8)
    big[1000:1003, 1200] = 255
    big[5, 2000:2100] = 200
    cases["long_runs_2048x2448"] = big
    stripes = np.zeros((300, 400), np.uint8)
    stripes[:, ::7] = 255
    stripes[::11, :] = 128
    cases["stripes_300x400"] = stripes
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--dilate-oracle", required=True, help="output of make_dilate_oracle.py")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = [(name, mask, t) for name, mask in generated().items() for t in (1, 128, 255)]
    for name, mask in dilate_oracle_masks(args.dilate_oracle).items():
        cases += [(name, mask, t) for t in (1, 128, 255)]
    assert len(cases) > 100
    with open(os.path.join(args.out, "rle.tsv"), "w") as manifest:
        for name, mask, threshold in cases:
            fg = (mask >= threshold).astype(np.uint8)
            rle = coco.encode(np.asfortranarray(fg))
            assert list(rle["size"]) == list(mask.shape)
            assert np.array_equal(coco.decode(rle), fg)
            key = f"{name}_t{threshold}"
            np.ascontiguousarray(mask).tofile(os.path.join(args.out, key + ".mask"))
            with open(os.path.join(args.out, key + ".rle"), "wb") as out:
                out.write(rle["counts"])
            manifest.write(f"{key}\t{mask.shape[0]}\t{mask.shape[1]}\t{threshold}\n")
    print(f"{len(cases)} masks encoded by pycocotools, written to {args.out}")


if __name__ == "__main__":
    main()
