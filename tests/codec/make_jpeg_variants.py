#!/usr/bin/python3
"""make_jpeg_variants.py: write JPEG variants of testorig (every chroma layout, gray, progressive, restart markers, odd and large sizes) and their OpenCV oracle.

OpenCV 4.6's Python build ignores IMWRITE_JPEG_SAMPLING_FACTOR, so the chroma layouts are encoded
through the system TurboJPEG (ctypes, the same library h5img links); OpenCV writes the rest. Then
make_oracle.py decodes every file with OpenCV into OUT/manifest.tsv, which test_jpeg.c walks.
"""
import argparse
import ctypes
import os
import subprocess
import sys

import cv2
import numpy as np

TJPF_RGB = 0
TJSAMP = {"444": 0, "422": 1, "420": 2, "gray": 3, "440": 4, "411": 5}
TJFLAG_PROGRESSIVE = 16384


def turbojpeg_encode(lib, rgb, subsamp, quality=90, flags=0):
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    handle = lib.tjInitCompress()
    if not handle:
        raise RuntimeError("tjInitCompress failed")
    out = ctypes.POINTER(ctypes.c_ubyte)()
    size = ctypes.c_ulong(0)
    try:
        if lib.tjCompress2(handle, rgb.ctypes.data_as(ctypes.c_void_p), width, width * 3, height, TJPF_RGB,
                           ctypes.byref(out), ctypes.byref(size), TJSAMP[subsamp], quality, flags) != 0:
            raise RuntimeError(lib.tjGetErrorStr2(handle).decode())
        return ctypes.string_at(out, size.value)
    finally:
        if out:
            lib.tjFree(out)
        lib.tjDestroy(handle)


def load_turbojpeg():
    lib = ctypes.CDLL("libturbojpeg.so.0")
    lib.tjInitCompress.restype = ctypes.c_void_p
    lib.tjCompress2.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                ctypes.c_int, ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)),
                                ctypes.POINTER(ctypes.c_ulong), ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.tjGetErrorStr2.argtypes = [ctypes.c_void_p]
    lib.tjGetErrorStr2.restype = ctypes.c_char_p
    lib.tjFree.argtypes = [ctypes.c_void_p]
    lib.tjDestroy.argtypes = [ctypes.c_void_p]
    return lib


def variants(rgb):
    """(file name, bytes) pairs; odd crops exercise partial MCUs in every layout."""
    lib = load_turbojpeg()
    for name in TJSAMP:
        yield f"tj_{name}.jpg", turbojpeg_encode(lib, rgb, name)
    yield "tj_444_progressive.jpg", turbojpeg_encode(lib, rgb, "444", flags=TJFLAG_PROGRESSIVE)
    yield "tj_420_progressive.jpg", turbojpeg_encode(lib, rgb, "420", flags=TJFLAG_PROGRESSIVE)
    yield "tj_422_q100.jpg", turbojpeg_encode(lib, rgb, "422", quality=100)
    for (h, w), sub in (((1, 1), "420"), ((5, 3), "422"), ((9, 17), "440"), ((15, 33), "411"), ((7, 7), "gray")):
        yield f"tj_{sub}_{w}x{h}.jpg", turbojpeg_encode(lib, rgb[:h, :w], sub)
    # Big enough (0.93 MP, over the 512 Ki-pixel threshold) for the automatic two-thread JPEG decode,
    # with partial MCUs at the right and bottom edges.
    large = cv2.resize(rgb, (1283, 725), interpolation=cv2.INTER_CUBIC)
    yield "tj_420_large.jpg", turbojpeg_encode(lib, large, "420")
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    opencv = {
        "cv_q75.jpg": (bgr, [cv2.IMWRITE_JPEG_QUALITY, 75]),
        "cv_progressive.jpg": (bgr, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        "cv_restart.jpg": (bgr, [cv2.IMWRITE_JPEG_RST_INTERVAL, 3]),
        "cv_optimize.jpg": (bgr, [cv2.IMWRITE_JPEG_OPTIMIZE, 1]),
        "cv_gray.jpg": (gray, []),
        "cv_gray_progressive.jpg": (gray, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        "cv_restart_large.jpg": (np.ascontiguousarray(large[:, :, ::-1]), [cv2.IMWRITE_JPEG_RST_INTERVAL, 5]),
    }
    for name, (img, params) in opencv.items():
        ok, data = cv2.imencode(".jpg", img, params)
        if not ok:
            raise RuntimeError(f"cv2.imencode failed for {name}")
        yield name, data.tobytes()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conformance", required=True, help="the shared conformance directory")
    parser.add_argument("--out", required=True, help="directory for the variants, their .raw files and manifest.tsv")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    bgr = cv2.imread(os.path.join(args.conformance, "jpeg", "testorig.ppm"), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit("cannot read testorig.ppm")
    paths = []
    for name, data in variants(np.ascontiguousarray(bgr[:, :, ::-1])):
        path = os.path.join(args.out, name)
        with open(path, "wb") as f:
            f.write(data)
        paths.append(path)
    oracle = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle", "make_oracle.py")
    return subprocess.call([sys.executable, oracle, "--out", args.out] + paths)


if __name__ == "__main__":
    sys.exit(main())
