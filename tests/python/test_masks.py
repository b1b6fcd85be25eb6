"""h5img.dilate equals OpenCV's cv2.dilate for every kernel side 1-63; h5img.rle_encode/rle_decode round-trip and refuse malformed strings by offset."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from h5img import MaskError, dilate, rle_decode, rle_encode

from conftest import DEBIAN_PYTHON

SIDES = list(range(1, 64))
# Debian's python3 runs cv2.dilate on the masks of an .npz, every side, and writes the results.
_CV2_DILATE = """
import sys, cv2, numpy as np
masks = np.load(sys.argv[1])
np.savez(sys.argv[2], **{f"{k}_{n}": cv2.dilate(masks[k], np.ones((n, n), np.uint8), iterations=1)
                         for k in masks.files for n in range(1, 64)})
"""


@pytest.fixture(scope="module")
def cv2_dilate(tmp_path_factory):
    """cv2_dilate(dict of name -> mask) -> dict of (name, n) -> cv2.dilate's result for n = 1..63.

    Kept by content in H5IMG_ORACLE_CACHE when set, like conftest's oracle, so the run where
    Debian's OpenCV cannot load reuses an earlier run's answers."""
    work = tmp_path_factory.mktemp("dilate-oracle")
    cache = Path(os.environ["H5IMG_ORACLE_CACHE"]) if os.environ.get("H5IMG_ORACLE_CACHE") else None

    def run(masks: dict[str, np.ndarray]) -> dict[tuple[str, int], np.ndarray]:
        keys = {f"k{i}": name for i, name in enumerate(masks)}
        digest = hashlib.sha256(b"".join(m.tobytes() + str(m.shape).encode() for m in masks.values())).hexdigest()
        target = (cache / f"{digest}.dilate.npz") if cache else work / f"{digest}.npz"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            source = work / f"{digest}.in.npz"
            np.savez(source, **{k: masks[name] for k, name in keys.items()})
            subprocess.run([DEBIAN_PYTHON, "-c", _CV2_DILATE, str(source), str(target)], check=True)
        result = np.load(target)
        return {(name, n): result[f"{k}_{n}"] for k, name in keys.items() for n in SIDES}

    return run


def sample_masks(legacy_frames) -> dict[str, np.ndarray]:
    import h5img

    masks = {}
    for sample, frames in legacy_frames.items():
        for name, data in frames.items():
            if "mask" in name.lower():
                masks[f"{sample}:{name}"] = h5img.decode(data, rule="mask")
    assert len(masks) >= 18
    return masks


def generated_masks() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    masks = {}
    for h, w in ((1, 1), (1, 8), (8, 1), (3, 2), (40, 70), (99, 33)):
        masks[f"noise {h}x{w}"] = rng.integers(0, 256, (h, w), dtype=np.uint8)
        sparse = np.zeros((h, w), np.uint8)
        sparse[rng.integers(0, h, 3), rng.integers(0, w, 3)] = 255
        masks[f"sparse {h}x{w}"] = sparse
    return masks


def test_dilate_equals_cv2_for_every_side(legacy_frames, cv2_dilate):
    masks = {**sample_masks(legacy_frames), **generated_masks()}
    expected = cv2_dilate(masks)
    for name, mask in masks.items():
        for n in SIDES:
            got = dilate(mask, n)
            want = expected[(name, n)]
            assert got.shape == mask.shape and got.dtype == np.uint8
            if not np.array_equal(got, want):
                y, x = np.argwhere(got != want)[0]
                pytest.fail(f"{name}, n = {n}: pixel ({x}, {y}) is {got[y, x]}, cv2.dilate gives {want[y, x]}")
    assert len(masks) * len(SIDES) > 1500


def test_dilate_leaves_its_input_alone_and_takes_views():
    mask = np.zeros((20, 30), np.uint8)
    mask[10, 15] = 9
    before = mask.copy()
    out = dilate(mask[::2, ::3], 3)  # a strided view is copied, not misread
    assert np.array_equal(mask, before)
    assert out.shape == (10, 10) and out[4:7, 4:7].min() == 9 and out.sum() == 9 * 9


@pytest.mark.parametrize("n", [0, -1, 1024, 2.5, True])
def test_dilate_refuses_bad_sides(n):
    with pytest.raises(MaskError, match="outside 1..1023"):
        dilate(np.zeros((4, 4), np.uint8), n)


def test_dilate_refuses_bad_arrays():
    with pytest.raises(TypeError, match="2-D uint8"):
        dilate(np.zeros((4, 4), np.uint16), 3)
    with pytest.raises(TypeError, match="2-D uint8"):
        dilate(np.zeros((4, 4, 3), np.uint8), 3)
    with pytest.raises(MaskError, match="side is zero"):
        dilate(np.zeros((0, 4), np.uint8), 3)


def test_rle_round_trips(legacy_frames):
    masks = {**sample_masks(legacy_frames), **generated_masks()}
    for name, mask in masks.items():
        for threshold in (1, 128, 255):
            rle = rle_encode(mask, threshold)
            assert rle["size"] == list(mask.shape) and isinstance(rle["counts"], str)
            assert json.loads(json.dumps(rle)) == rle
            back = rle_decode(rle)
            assert np.array_equal(back, (mask >= threshold).astype(np.uint8)), f"{name} at {threshold}"
            assert np.array_equal(rle_decode({"size": rle["size"], "counts": rle["counts"].encode()}), back)


def test_rle_known_strings():
    # Column-major runs starting with background: pycocotools' own strings for these masks.
    assert rle_encode(np.zeros((2, 2), np.uint8))["counts"] == "4"
    assert rle_encode(np.full((2, 2), 255, np.uint8))["counts"] == "04"
    assert rle_encode(np.array([[255, 0], [255, 0]], np.uint8))["counts"] == "022"
    assert rle_encode(np.array([[0, 0], [0, 7]], np.uint8), threshold=7)["counts"] == "31"
    assert rle_encode(np.array([[0, 0], [0, 7]], np.uint8), threshold=8)["counts"] == "4"


@pytest.mark.parametrize("counts, size, says", [
    ("", [2, 2], "0 counts end at offset 0 covering 0 of the 2x2 = 4 pixels"),
    ("0d", [2, 2], "cut off by the end of the string at offset 2"),
    ("0 4", [2, 2], "byte 0x20 at offset 1 is not a count digit"),
    ("0\u00e94", [2, 2], "byte 0xc3 at offset 1 is not a count digit"),
    ("O", [2, 2], "count 0 at offset 0 is negative"),
    ("5", [2, 2], "count 0 at offset 0 (5) runs past the 2x2 = 4 pixels"),
    ("ooooooo0", [2, 2], "more than 7 digits"),
])
def test_rle_malformed_strings_name_the_offset(counts, size, says):
    with pytest.raises(MaskError) as raised:
        rle_decode({"size": size, "counts": counts})
    assert says in str(raised.value)


def test_rle_refuses_bad_arguments():
    with pytest.raises(MaskError, match="threshold 256"):
        rle_encode(np.zeros((2, 2), np.uint8), 256)
    with pytest.raises(MaskError, match='"size"'):
        rle_decode({"counts": "4"})
    with pytest.raises(MaskError, match="uncompressed"):
        rle_decode({"size": [2, 2], "counts": [4]})
    with pytest.raises(MaskError, match="not a mask size"):
        rle_decode({"size": [0, 2], "counts": "4"})
