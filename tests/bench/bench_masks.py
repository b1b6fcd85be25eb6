#!/usr/bin/python3
"""bench_masks.py: h5imgdump --preview of a 60-camera full-size capture vs OpenCV's full decode + resize, and h5img_dilate vs cv2.dilate."""
# Usage: /usr/bin/python3 tests/bench/bench_masks.py --build BUILD_DIR [--data DIR] [--work DIR] [--rounds N]
#
# The capture: 60 cameras, each holding frame 0 (a 2448x2048 JPEG, quality 90) and its
# 8-bit gray PNG mask, copied from the first cameras of tests/bench/run.sh's legacy.smc
# (--data: its bench-data/<version> folder) or, without one, from two frames made here
# the same way (a photograph scaled up, soft-edged mask). Every output is checked against
# OpenCV before anything is timed; figures are medians of --rounds rounds.
import argparse
import ctypes
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
import h5py
import numpy as np

CAMERAS = 60
TILE = 320
SIZE = (2448, 2048)  # (W, H)


def source_frames(data_dir):
    """[(jpeg bytes, png mask bytes)] of a few real-size cameras."""
    pairs = []
    legacy = os.path.join(data_dir, "legacy.smc") if data_dir else ""
    if legacy and os.path.exists(legacy):
        with h5py.File(legacy, "r") as f:
            for cam in sorted(f["Camera"].keys())[:8]:
                pairs.append((f[f"Camera/{cam}/color/0"][()].tobytes(), f[f"Camera/{cam}/mask/0"][()].tobytes()))
        return pairs, f"copies of the 8 cameras of {legacy}"
    import skimage.data

    for name in ("astronaut", "coffee"):
        image = cv2.resize(getattr(skimage.data, name)()[:, :, :3], SIZE, interpolation=cv2.INTER_CUBIC)
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        mask = cv2.GaussianBlur((cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) > 110).astype(np.uint8) * 255, (31, 31), 8)
        ok, png = cv2.imencode(".png", mask)
        pairs.append((jpeg.tobytes(), png.tobytes()))
    return pairs, "copies of 2 frames generated here (no --data)"


def make_capture(path, pairs):
    with h5py.File(path, "w") as f:
        for cam in range(CAMERAS):
            jpeg, png = pairs[cam % len(pairs)]
            f[f"Camera/{cam:02d}/color/0"] = np.frombuffer(jpeg, np.uint8)
            f[f"Camera/{cam:02d}/mask/0"] = np.frombuffer(png, np.uint8)


def timed(fn, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def opencv_sheet(path, out, overlay):
    """The same sheet the OpenCV way: every frame decoded in full, INTER_AREA to the tile, pasted, written."""
    with h5py.File(path, "r") as f:
        cams = sorted(f["Camera"].keys())
        columns = 10
        tiles = []
        for cam in cams:
            image = cv2.imdecode(f[f"Camera/{cam}/color/0"][()], cv2.IMREAD_COLOR)
            h = int(image.shape[0] * TILE / image.shape[1] + 0.5)
            tile = cv2.resize(image, (TILE, h), interpolation=cv2.INTER_AREA)
            if overlay:
                mask = cv2.imdecode(f[f"Camera/{cam}/mask/0"][()], cv2.IMREAD_GRAYSCALE)
                m = cv2.resize(mask, (TILE, h), interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] * 0.4 / 255
                tile = (tile * (1 - m) + np.array([96, 255, 0], np.float32) * m).astype(np.uint8)
            tiles.append(tile)
        rows = [np.hstack(tiles[i:i + columns] + [np.zeros_like(tiles[0])] * (columns - len(tiles[i:i + columns])))
                for i in range(0, len(tiles), columns)]
        cv2.imwrite(out, np.vstack(rows), [cv2.IMWRITE_PNG_COMPRESSION, 1])


def check_preview(dump, path, out):
    """Every tile within a few grey levels RMS of OpenCV's full decode + INTER_AREA."""
    done = subprocess.run([dump, "--preview", out, "--overlay", "none", "--json", path], capture_output=True,
                          text=True, check=True)
    sheet = cv2.imread(out, cv2.IMREAD_COLOR)
    worst = 0.0
    with h5py.File(path, "r") as f:
        for t in json.loads(done.stdout)["tiles"][:10]:
            image = cv2.imdecode(f[t["path"]][()], cv2.IMREAD_COLOR)
            want = cv2.resize(image, (t["w"], t["h"]), interpolation=cv2.INTER_AREA).astype(float)
            got = sheet[t["y"]:t["y"] + t["h"], t["x"]:t["x"] + t["w"]].astype(float)
            worst = max(worst, float(np.sqrt(np.mean((got - want) ** 2))))
    assert worst < 5, f"preview tiles are {worst:.2f} grey levels RMS from OpenCV's"
    return worst


def dilate_lib(build):
    lib = ctypes.CDLL(os.path.join(build, "plugins", "libh5img.so"))
    lib.h5img_dilate.restype = ctypes.c_int
    lib.h5img_dilate.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32,
                                 ctypes.c_char_p, ctypes.c_size_t]
    return lib


def cores_busy(fn):
    """(seconds, CPU seconds of this process and its children / seconds) of one call."""
    t0, c0 = time.perf_counter(), os.times()
    fn()
    t1, c1 = time.perf_counter(), os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user) + \
          (c1.children_system - c0.children_system)
    return cpu / (t1 - t0)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", required=True, help="CMake build dir (tools/h5imgdump, plugins/libh5img.so)")
    parser.add_argument("--data", default="", help="tests/bench/run.sh's bench-data/<version> folder, if any")
    parser.add_argument("--work", default="", help="where the capture is written (default: a temporary folder)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not args.data:
        found = sorted(glob.glob(os.path.join(args.build, "bench-data", "*")))
        args.data = found[-1] if found else ""
    dump = os.path.join(args.build, "tools", "h5imgdump")
    work = args.work or tempfile.mkdtemp(prefix="bench_masks-")
    os.makedirs(work, exist_ok=True)
    capture = os.path.join(work, "preview60.smc")
    pairs, origin = source_frames(args.data)
    make_capture(capture, pairs)
    sheet = os.path.join(work, "sheet.png")
    worst = check_preview(dump, capture, sheet)
    print(f"capture: {CAMERAS} cameras of {SIZE[0]}x{SIZE[1]} JPEG + PNG mask, {origin}; "
          f"tiles {TILE} wide, worst tile {worst:.2f} grey levels RMS from OpenCV (checked before timing)")
    rows = []

    def row(what, method, fn, unit_scale=1.0, unit="s", baseline=None):
        fn()  # warm the page cache and the libraries
        busy = cores_busy(fn)
        median, low, high = timed(fn, args.rounds)
        speed = "baseline" if baseline is None else f"{baseline / median:.2f}x"
        rows.append((what, method, median * unit_scale, low * unit_scale, high * unit_scale, unit, speed, busy))
        return median

    cv2.setNumThreads(1)
    base = row("preview", "OpenCV: h5py bytes + cv2.imdecode (full) + cv2.resize INTER_AREA + imwrite, no overlay",
               lambda: opencv_sheet(capture, os.path.join(work, "cv2.png"), False))
    row("preview", "**ours**: `h5imgdump --preview --overlay none` (DCT-scaled JPEG decode, default -j)",
        lambda: subprocess.run([dump, "--preview", sheet, "--overlay", "none", capture], check=True), baseline=base)
    row("preview", "ours: `h5imgdump --preview --overlay none -j 1`",
        lambda: subprocess.run([dump, "--preview", sheet, "--overlay", "none", "-j", "1", capture], check=True),
        baseline=base)
    base_mask = row("preview", "OpenCV as above, with the masks decoded, resized and blended",
                    lambda: opencv_sheet(capture, os.path.join(work, "cv2.png"), True))
    row("preview", "ours: `h5imgdump --preview` (mask overlay, default -j)",
        lambda: subprocess.run([dump, "--preview", sheet, capture], check=True), baseline=base_mask)

    with h5py.File(capture, "r") as f:
        mask = cv2.imdecode(f["Camera/00/mask/0"][()], cv2.IMREAD_GRAYSCALE)
    lib = dilate_lib(args.build)
    out = np.empty_like(mask)
    kernel = np.ones((15, 15), np.uint8)
    assert lib.h5img_dilate(mask.ctypes.data, out.ctypes.data, mask.shape[0], mask.shape[1], 15, None, 0) == 0
    assert np.array_equal(out, cv2.dilate(mask, kernel)), "h5img_dilate differs from cv2.dilate"
    reps = 20

    def ours():
        for _ in range(reps):
            lib.h5img_dilate(mask.ctypes.data, out.ctypes.data, mask.shape[0], mask.shape[1], 15, None, 0)

    def theirs():
        for _ in range(reps):
            cv2.dilate(mask, kernel, dst=out)

    cv2.setNumThreads(1)
    d_base = row("dilate", f"cv2.dilate, 15x15 ones, {mask.shape[1]}x{mask.shape[0]} mask (1 thread)", theirs,
                 1000 / reps, "ms")
    row("dilate", "**ours**: h5img_dilate (C API through ctypes, 1 thread)", ours, 1000 / reps, "ms", baseline=d_base)
    cv2.setNumThreads(0)
    row("dilate", "cv2.dilate, OpenCV's default threads", theirs, 1000 / reps, "ms", baseline=d_base)

    print("\n| what | method | median | min - max | unit | speed vs baseline | cores busy |")
    print("|---|---|---:|---:|---|---:|---:|")
    for what, method, median, low, high, unit, speed, busy in rows:
        fmt = lambda v: f"{v:.3g}" if v < 100 else f"{v:.0f}"
        print(f"| {what} | {method} | {fmt(median)} | {fmt(low)} - {fmt(high)} | {unit} | {speed} | {busy:.2f} |")
    preview_speedup = base / rows[1][2]
    verdict = "PASS" if preview_speedup >= 4 else "MISS"
    print(f"\n| target | measured | goal | verdict |\n|---|---:|---:|---|\n"
          f"| preview of {CAMERAS} cameras vs OpenCV full decode + resize | {preview_speedup:.2f}x | >= 4x | {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
