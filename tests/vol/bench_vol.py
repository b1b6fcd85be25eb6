#!/usr/bin/env python3
"""bench_vol.py: what the h5img VOL connector costs: frame reads against the filter on a repacked file, and file opening.

Usage (with the python of a venv holding PyPI's h5py, e.g. /opt/venv-h5py315):
    bench_vol.py --plugins BUILD/plugins --repack BUILD/tools/h5imgrepack [--frames 3000] [--repeat 30]

Makes, in a temporary directory, a legacy file holding a large colour JPEG
and a large mask PNG (1-D uint8 datasets, as SMC files store them) and the
same file repacked by h5imgrepack (filter 49301), then times in separate
child processes (HDF5_VOL_CONNECTOR is per process):
  - reading each frame whole, through the connector from the legacy file and
    through the filter from the repacked file (best of --repeat, chunk cache
    off so that every read decodes);
  - opening a file of --frames small legacy frames and asking each dataset
    for its shape, with and without the connector (best of 5 in each child;
    --pairs children of each kind, alternating; the median ratio).
Prints one line per figure. Nothing is asserted: figures, not a test.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

CHILD = textwrap.dedent("""
    import sys, time, h5py
    mode, path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
    best = {}
    if mode == "read":
        # No chunk cache: HDF5 2.0's 8 MiB default keeps a decoded mask chunk,
        # and repeated reads would then time the cache, not the decode.
        with h5py.File(path, "r", rdcc_nbytes=0) as f:
            for name in sys.argv[4:]:
                d = f[name]
                d[()]  # warm the page cache and the decoder
                times = []
                for _ in range(repeat):
                    t = time.perf_counter(); d[()]; times.append(time.perf_counter() - t)
                best[name] = min(times)
    else:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            with h5py.File(path, "r") as f:
                group = f["frames"]
                for name in group:
                    group[name].shape
            times.append(time.perf_counter() - t)
        best["open"] = min(times)
    for key, value in best.items():
        print(key, value)
""")


def child(python, environment, *args):
    result = subprocess.run([python, "-c", CHILD, *args], env=environment, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"bench_vol: child {args[0]} failed:\n{result.stderr}")
    return {line.split()[0]: float(line.split()[1]) for line in result.stdout.splitlines()}


def make_inputs(work, frames):
    import cv2
    import h5py
    import numpy as np

    rng = np.random.default_rng(7)
    height, width = 2048, 2448  # a 5 MP camera frame
    y, x = np.mgrid[0:height, 0:width]
    colour = np.stack([(x * 255 // width), (y * 255 // height), ((x + y) % 256)], axis=2).astype(np.uint8)
    colour = cv2.GaussianBlur(colour + rng.integers(0, 16, colour.shape, dtype=np.uint8), (5, 5), 0)
    mask = (cv2.GaussianBlur(((x - width / 2) ** 2 + (y - height / 2) ** 2 < (height / 3) ** 2).astype(np.uint8) * 255,
                             (31, 31), 0))
    jpeg = cv2.imencode(".jpg", colour, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    png = cv2.imencode(".png", mask)[1].tobytes()
    legacy = os.path.join(work, "legacy.smc")
    with h5py.File(legacy, "w") as f:
        f["Camera/00/color/0"] = np.frombuffer(jpeg, dtype=np.uint8)
        f["Camera/00/mask/0"] = np.frombuffer(png, dtype=np.uint8)
    small = cv2.imencode(".jpg", cv2.resize(colour, (160, 134)))[1].tobytes()
    many = os.path.join(work, "many.smc")
    with h5py.File(many, "w") as f:
        group = f.create_group("frames")
        for i in range(frames):
            group[str(i)] = np.frombuffer(small, dtype=np.uint8)
    return legacy, many, len(jpeg), len(png)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", required=True, help="directory holding libh5img.so and libh5img_vol.so")
    parser.add_argument("--repack", required=True, help="the h5imgrepack program")
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pairs", type=int, default=7, help="alternating opening runs with and without the connector")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench_vol.")
    try:
        legacy, many, jpeg_size, png_size = make_inputs(work, args.frames)
        repacked = os.path.join(work, "repacked.smc")
        subprocess.run([args.repack, legacy, repacked], check=True, capture_output=True)
        base = dict(os.environ, HDF5_PLUGIN_PATH=os.path.abspath(args.plugins))
        base.pop("HDF5_VOL_CONNECTOR", None)
        vol = dict(base, HDF5_VOL_CONNECTOR="h5img")
        names = ["Camera/00/color/0", "Camera/00/mask/0"]
        through_vol = child(sys.executable, vol, "read", legacy, str(args.repeat), *names)
        through_filter = child(sys.executable, base, "read", repacked, str(args.repeat), *names)
        bytes_only = child(sys.executable, base, "read", legacy, str(args.repeat), *names)
        print(f"frames: colour JPEG 2448x2048x3 ({jpeg_size} bytes), mask PNG 2448x2048 ({png_size} bytes)")
        for name in names:
            print(f"read {name}: VOL {through_vol[name] * 1e3:.2f} ms, filter {through_filter[name] * 1e3:.2f} ms "
                  f"(VOL/filter {through_vol[name] / through_filter[name]:.2f}); stored bytes alone "
                  f"{bytes_only[name] * 1e3:.2f} ms")
        # This VM's speed drifts by up to 2x between processes (a child is fast or slow
        # throughout), so the two kinds of child alternate, and the ratio is the median
        # of the pairs' ratios, each pair run back to back.
        pairs = []
        for _ in range(args.pairs):
            open_vol = child(sys.executable, vol, "open", many, "5")["open"]
            open_plain = child(sys.executable, base, "open", many, "5")["open"]
            pairs.append((open_vol, open_plain))
        ratios = sorted(v / p for v, p in pairs)
        middle = sorted(pairs, key=lambda pair: pair[0] / pair[1])[len(pairs) // 2]
        print(f"open {args.frames} frames + shape: VOL {middle[0] * 1e3:.1f} ms, without {middle[1] * 1e3:.1f} ms "
              f"(median ratio of {len(pairs)} pairs {ratios[len(ratios) // 2]:.2f}; "
              f"all: {', '.join(f'{r:.2f}' for r in ratios)})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
