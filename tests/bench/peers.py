#!/usr/bin/env python3
"""peers.py: h5img against the PyPI image decoders (cv2, Pillow, pyspng, simplejpeg, imagecodecs) on the benchmark's frames.

Run by peers.sh, in a venv holding h5img and the peers. Reads the benchmark's inputs (--data, made by
run.sh): the legacy SMC file, its repacked twin, and cameras 00 and 01's 2448x2048 frames. Every
method reads the frame from the HDF5 file the way a user would (h5py bytes, then decode; or
dset[()] through the filter) and must return the same pixels as h5img (which the test suite holds
equal to OpenCV 4.6); a peer that differs is listed as such, not hidden. Prints a Markdown table
of medians over --reps rounds, the methods interleaved within each round.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np

import h5img


def peers_for(kind: str):
    """(name, function of encoded bytes -> array in h5img's layout) for every peer that is installed."""
    found = []
    try:
        import cv2

        if kind == "mask":
            found.append(("cv2.imdecode(IMREAD_GRAYSCALE) (opencv-python-headless %s)" % cv2.__version__,
                          lambda b: cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_GRAYSCALE)))
        else:
            found.append(("cv2.imdecode(IMREAD_COLOR)[..., ::-1] (opencv-python-headless %s)" % cv2.__version__,
                          lambda b: cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]))
    except ImportError:
        pass
    try:
        import PIL
        from PIL import Image

        found.append((f"Pillow {PIL.__version__} Image.open + np.asarray",
                      lambda b: np.asarray(Image.open(io.BytesIO(b)))))
    except ImportError:
        pass
    if kind == "mask":
        try:
            import pyspng

            found.append((f"pyspng {getattr(pyspng, '__version__', '')} load".replace("  ", " "), pyspng.load))
        except ImportError:
            pass
    else:
        try:
            import simplejpeg

            found.append((f"simplejpeg {simplejpeg.__version__} decode_jpeg(colorspace=RGB)",
                          lambda b: simplejpeg.decode_jpeg(b, colorspace="RGB")))
        except ImportError:
            pass
    try:
        import imagecodecs

        decode = imagecodecs.png_decode if kind == "mask" else imagecodecs.jpeg8_decode
        found.append((f"imagecodecs {imagecodecs.__version__} {decode.__name__}", decode))
    except ImportError:
        pass
    return found


# The VOL connector is chosen per process (HDF5 reads HDF5_VOL_CONNECTOR when it starts), so
# its row is timed in a child, one child per round, started outside the timed part.
VOL_CHILD = textwrap.dedent("""
    import sys, time, h5py
    legacy, names = sys.argv[1], sys.argv[3:]
    with h5py.File(legacy, "r") as f:
        f[names[0]][()]  # loads the connector and the filter
        start = time.perf_counter()
        for n in names:
            f[n][()]  # dropped at once, as the peers' frames are
        elapsed = time.perf_counter() - start
    print(elapsed * 1000 / len(names))
""")


def vol_available() -> bool:
    return os.path.exists(os.path.join(h5img.PLUGIN_PATH, "libh5img_vol.so"))


def vol_round(legacy_path, rule, names):
    environment = dict(os.environ, HDF5_PLUGIN_PATH=h5img.PLUGIN_PATH, HDF5_VOL_CONNECTOR="h5img")
    done = subprocess.run([sys.executable, "-c", VOL_CHILD, legacy_path, rule, *names], env=environment,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"peers.py: the VOL child failed:\n{done.stderr}")
    return float(done.stdout.split()[-1])


VOL_CHECK = textwrap.dedent("""
    import sys, pickle, h5py
    with h5py.File(sys.argv[1], "r") as f:
        sys.stdout.buffer.write(pickle.dumps([f[n][()] for n in sys.argv[2:]]))
""")


def vol_frames(legacy_path, names):
    import pickle

    environment = dict(os.environ, HDF5_PLUGIN_PATH=h5img.PLUGIN_PATH, HDF5_VOL_CONNECTOR="h5img")
    done = subprocess.run([sys.executable, "-c", VOL_CHECK, legacy_path, *names], env=environment,
                          capture_output=True, check=True)
    return pickle.loads(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the benchmark's input directory (build/bench-data/<key>)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--frames", type=int, default=24, help="frames of camera 00 per kind")
    args = parser.parse_args()
    legacy_path = os.path.join(args.data, "legacy.smc")
    legacy = h5py.File(legacy_path, "r")
    repacked = h5py.File(os.path.join(args.data, "repacked.h5"), "r")
    names = {"mask": [f"Camera/00/mask/{i}" for i in range(args.frames)],
             "color": [f"Camera/00/color/{i}" for i in range(args.frames)]}
    rule = {"mask": "mask", "color": "colour"}
    rows, verdicts = [], []
    for kind in ("mask", "color"):
        reference = [h5img.decode(legacy[n][()], rule=rule[kind]) for n in names[kind]]
        methods = [(f"h5img via h5py: dset[()] on the repacked file (filter)", lambda n: repacked[n][()], True),
                   (f"h5img.decode(h5py bytes, rule={rule[kind]!r}) on the legacy file",
                    lambda n, r=rule[kind]: h5img.decode(legacy[n][()], rule=r), True)]
        methods += [(f"h5py bytes + {name}", lambda n, d=decode: d(legacy[n][()].tobytes()), False)
                    for name, decode in peers_for(kind)]
        # Whole-list methods: (label, function of the name list -> frames, or None to time in a child).
        batch = [(f"h5img.read_frames(legacy file, {len(names[kind])} frames) (C threads)",
                  lambda ns: h5img.read_frames(legacy, ns))]
        if vol_available():
            batch.append(("h5img VOL connector via h5py: dset[()] on the legacy file (HDF5_VOL_CONNECTOR=h5img)", None))
        same = {}
        for label, read_all in batch:
            outputs = read_all(names[kind]) if read_all else vol_frames(legacy_path, names[kind])
            diffs = [int(np.abs(o.astype(np.int32) - r.astype(np.int32)).max()) if o.shape == r.shape else None
                     for o, r in zip(outputs, reference)]
            same[label] = ("identical" if all(d == 0 for d in diffs) else
                           "shape differs" if any(d is None for d in diffs) else f"differs (max {max(diffs)})")
        for label, read, _ in methods:
            outputs = [read(n) for n in names[kind]]
            diffs = [int(np.abs(o.astype(np.int32) - r.astype(np.int32)).max()) if o.shape == r.shape else None
                     for o, r in zip(outputs, reference)]
            same[label] = ("identical" if all(d == 0 for d in diffs) else
                           "shape differs" if any(d is None for d in diffs) else f"differs (max {max(diffs)})")
        times = {label: [] for label, _, _ in methods}
        times.update({label: [] for label, _ in batch})
        for round_number in range(args.reps):
            print(f"{kind}: round {round_number + 1}/{args.reps}", file=sys.stderr)
            for label, read, _ in methods:
                start = time.perf_counter()
                for n in names[kind]:
                    read(n)
                times[label].append((time.perf_counter() - start) * 1000 / len(names[kind]))
            for label, read_all in batch:
                if read_all is None:
                    times[label].append(vol_round(legacy_path, rule[kind], names[kind]))
                    continue
                start = time.perf_counter()
                read_all(names[kind])
                times[label].append((time.perf_counter() - start) * 1000 / len(names[kind]))
        methods += [(label, None, True) for label, _ in batch]
        medians = {label: statistics.median(t) for label, t in times.items()}
        fastest_peer = min((medians[l] for l, _, ours in methods if not ours), default=None)
        for label, _, ours in methods:
            vs = f"{fastest_peer / medians[label]:.2f}x" if fastest_peer else ""
            rows.append(f"| {kind} | {'**' + label + '**' if ours else label} | {medians[label]:.3g} | "
                        f"{min(times[label]):.3g} - {max(times[label]):.3g} | {vs} | {same[label]} |")
        goal = 5.0 if kind == "mask" else 1.5
        if fastest_peer:
            for label, _, ours in methods:
                if ours:
                    ratio = fastest_peer / medians[label]
                    verdicts.append(f"| {kind}: {label} vs the fastest peer | {ratio:.2f}x | >= {goal}x | "
                                    f"{'PASS' if ratio >= goal else 'MISS'} |")
    print("| what | method | median ms/frame | min - max | speed vs fastest peer | pixels vs h5img |")
    print("|---|---|---:|---:|---:|---|")
    print("\n".join(rows))
    print()
    print("| target | measured | goal | verdict |")
    print("|---|---:|---:|---|")
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
