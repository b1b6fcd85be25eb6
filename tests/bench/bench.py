#!/usr/bin/python3
"""bench.py: h5img read/extract/repack benchmark against the OpenCV reader paths; prints a Markdown table (run it through tests/bench/run.sh)."""
import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Bump when the generated frames change, so cached inputs are rebuilt.
GEN_VERSION = 2
WIDTH, HEIGHT = 2448, 2048  # RenderMe-360 / DNA-Rendering 5 MP cameras
JPEG_QUALITY = 90
# Camera sensor noise: without it an upscaled photograph is too smooth and its
# JPEG far smaller (and faster to decode) than the ~600 KB real frames.
COLOR_NOISE_SIGMA = 2.0
# Matting-like soft edge; with the cameraman silhouette this lands near the
# ~65:1 PNG ratio of the real masks.
MASK_EDGE_SIGMA = 1.2
COLOR_PHOTOS = ("astronaut", "coffee")
# Only this many cameras are encoded; the others hold copies of their bytes.
# They cost no generation time yet make the file big enough (like real SMC
# files, which hold dozens of cameras) for repack-vs-cp to be more than
# process start-up and timer noise.
GENERATED_CAMS = len(COLOR_PHOTOS)
FILTER_ID = 49301
RULE_NAMES = {1: "native", 2: "color", 3: "mask", 4: "luma"}
FLAG_BGR = 0x1

# Targets as the issue states them: (description, baseline case, our case, goal).
# Each ratio is baseline time over our time, so higher is better; "{r}" is
# expanded per malloc regime, "{fmt}" to the first --decode-formats entry.
TARGETS = (
    ("mask read: ours via h5py vs reference path (IMREAD_COLOR + max)", "mask-reference@{r}", "mask-h5py@{r}", 30.0),
    ("mask read: ours via h5py vs cv2 IMREAD_GRAYSCALE", "mask-cv2-gray@{r}", "mask-h5py@{r}", 4.0),
    ("colour read: ours via h5py vs cv2 IMREAD_COLOR", "color-cv2@{r}", "color-h5py@{r}", 1.7),
    # The wheel's HDF5 (a PyPI h5py, what most users run) may cost at most 5%
    # more than Debian's: wheel time <= 1.05 x system time.
    ("mask read: the wheel's h5py vs the system h5py, within 5%", "mask-h5py@{r}", "mask-wheel@{r}", 1 / 1.05),
    ("colour read: the wheel's h5py vs the system h5py, within 5%", "color-h5py@{r}", "color-wheel@{r}", 1 / 1.05),
    ("camera extraction: --format keep vs decode-and-re-encode", "extract-reencode", "extract-keep", 20.0),
    ("decoding extraction: -j 2 vs -j 1 (--format {fmt})", "extract-{fmt}-j1", "extract-{fmt}-j2", 1.6),
    # cp neither syncs nor can be made to, and cp followed by sync alone is
    # slower than half of cp here, so the target is judged like for like:
    # both without a sync, and both with one. The unlike pair is shown too.
    ("repack throughput vs cp, neither syncing (h5imgrepack --no-sync)", "cp", "repack-nosync", 0.5),
    ("repack throughput vs cp, both syncing (h5imgrepack vs cp then sync)", "cp-sync", "repack", 0.5),
)

# Shown under the targets without a verdict: (description, baseline, ours).
UNLIKE_PAIRS = (
    ("(unlike pair) h5img repack with its fsync vs cp without one", "cp", "repack"),
)


class BenchError(Exception):
    """Something the benchmark needs is missing or broken (not a mismatch)."""


# --------------------------------------------------------------------------
# Machine description
# --------------------------------------------------------------------------

def run_text(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def cpu_model():
    with open("/proc/cpuinfo") as fp:
        for line in fp:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def busy_jiffies():
    """Busy CPU time of the whole machine so far, in clock ticks, from /proc/stat."""
    with open("/proc/stat") as fp:
        fields = [int(x) for x in fp.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # all but idle and iowait


def own_cpu_seconds():
    """CPU time of this process and every child it waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def cv2_build_line(cv2, key):
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return "?"


def machine_lines(args, cv2, h5py):
    lines = machine_lines_system(args, cv2, h5py)
    if args.wheel_info:
        info = args.wheel_info
        lines.append(f"- Wheel rows: {args.wheel_python}: PyPI h5py {info['h5py']} with its own HDF5 {info['hdf5']}, "
                     f"NumPy {info['numpy']}; the same plugin file (HDF5_PLUGIN_PATH)")
    else:
        lines.append("- Wheel rows: not measured (no --wheel-python; tests/bench/run.sh passes one)")
    return lines


def machine_lines_system(args, cv2, h5py):
    build_type = "?"
    cache = os.path.join(args.build_dir, "CMakeCache.txt")
    if os.path.exists(cache):
        with open(cache) as fp:
            for line in fp:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    build_type = line.split("=", 1)[1].strip()
    pc = lambda name: run_text(["pkg-config", "--modversion", name])
    debian = open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "?"
    return [
        f"- CPU: {cpu_model()}; {os.cpu_count()} logical cores online ({len(os.sched_getaffinity(0))} usable); "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM",
        f"- Kernel: {platform.system()} {platform.release()}; Debian {debian}; Python {platform.python_version()}",
        f"- HDF5 {pc('hdf5')} (C library; h5py {h5py.version.version} built against {h5py.version.hdf5_version}); "
        f"OpenCV {cv2.__version__} (its JPEG: {cv2_build_line(cv2, 'JPEG')}; PNG: {cv2_build_line(cv2, 'PNG')}); "
        f"NumPy {np.__version__}",
        f"- h5img links libspng {pc('spng')}, libjpeg-turbo {pc('libturbojpeg')}, libdeflate {pc('libdeflate')}; "
        f"build type {build_type} ({args.build_dir})",
    ]


# --------------------------------------------------------------------------
# Inputs: generated once per parameter set, cached in the build directory
# --------------------------------------------------------------------------

def photo(name):
    import skimage.data
    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def person_silhouette(cv2):
    """The cameraman's body as a clean binary matte, smoothed at source scale
    so that the upscaled contour is a curve, not a staircase."""
    import skimage.data
    gray = skimage.data.camera()
    _, hard = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    hard = cv2.morphologyEx(hard, cv2.MORPH_OPEN, kernel)
    hard = cv2.morphologyEx(hard, cv2.MORPH_CLOSE, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hard)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return cv2.GaussianBlur(np.where(labels == biggest, 255, 0).astype(np.uint8), (0, 0), 1.0)


def color_frame(cv2, image, cam, index):
    """A camera frame: a crop sliding a few pixels per frame, upscaled, with sensor noise."""
    h, w = image.shape[:2]
    dx, dy = (3 * index) % 40, (2 * index) % 30
    crop = image[dy:h - 40 + dy, dx:w - 40 + dx]
    big = cv2.resize(crop, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(1000 * cam + index)
    noise = rng.standard_normal(big.shape, dtype=np.float32) * COLOR_NOISE_SIGMA
    return np.clip(big + noise, 0, 255).astype(np.uint8)


def mask_frame(cv2, silhouette, cam, index):
    """The person moving a little each frame: scaled and shifted, thresholded, soft-edged."""
    sh, sw = silhouette.shape
    scale = min(WIDTH / sw, HEIGHT / sh) * (0.9 + 0.004 * index)
    tx = (WIDTH - sw * scale) / 2 + 9.0 * index - 60 * cam
    ty = (HEIGHT - sh * scale) / 2 + 3.0 * index
    matrix = np.array([[scale, 0, tx], [0, scale, ty]], dtype=np.float64)
    big = cv2.warpAffine(silhouette, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_CUBIC)
    hard = np.where(big > 127, 255, 0).astype(np.uint8)
    return cv2.GaussianBlur(hard, (0, 0), MASK_EDGE_SIGMA)


def frame_path(cam, kind, index):
    return f"Camera/{cam}/{kind}/{index}"


def bytes_file(data_dir, cam, kind, index):
    ext = "jpg" if kind == "color" else "png"
    return os.path.join(data_dir, "frames", cam, f"{kind}_{index:06d}.{ext}")


def source_cam(cam):
    """The generated camera whose bytes camera `cam` holds."""
    return f"{int(cam) % GENERATED_CAMS:02d}"


def generate(args, cv2, h5py, data_dir):
    """Writes legacy.smc (the SMC layout: one 1-D uint8 dataset per encoded
    frame) and each generated frame's bytes as a file for bench_decode."""
    tmp = data_dir + f".tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    cams = [f"{c:02d}" for c in range(args.cams)]
    silhouette = person_silhouette(cv2)
    started = time.perf_counter()
    with h5py.File(os.path.join(tmp, "legacy.smc"), "w") as f:
        f.attrs["actor_id"] = "bench"
        f.attrs["performance_part"] = "h5img-benchmark"
        camera = f.create_group("Camera")
        camera.attrs["num_device"] = len(cams)
        camera.attrs["num_frame"] = args.frames
        camera.attrs["resolution"] = np.array([HEIGHT, WIDTH], dtype=np.int64)
        for c, cam in enumerate(cams):
            if c >= GENERATED_CAMS:
                for kind in ("color", "mask"):
                    for i in range(args.frames):
                        f.create_dataset(frame_path(cam, kind, i), data=f[frame_path(source_cam(cam), kind, i)][()])
                continue
            os.makedirs(os.path.join(tmp, "frames", cam))
            image = photo(COLOR_PHOTOS[c])
            for i in range(args.frames):
                rgb = color_frame(cv2, image, c, i)
                ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                ok2, png = cv2.imencode(".png", mask_frame(cv2, silhouette, c, i))  # OpenCV's default PNG settings
                if not (ok and ok2):
                    raise BenchError("cv2.imencode failed while generating inputs")
                for kind, data in (("color", jpg), ("mask", png)):
                    data = np.frombuffer(data.tobytes(), dtype=np.uint8)
                    f.create_dataset(frame_path(cam, kind, i), data=data)
                    with open(bytes_file(tmp, cam, kind, i), "wb") as out:
                        out.write(data.tobytes())
            print(f"  generated camera {cam}: {args.frames} colour + {args.frames} mask frames "
                  f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        for cam in cams:
            # Small non-image datasets, which repack must copy as they are.
            calib = f.create_group(f"Calibration/{cam}")
            calib["K"] = np.array([[2000.0, 0, WIDTH / 2], [0, 2000.0, HEIGHT / 2], [0, 0, 1]])
            calib["D"] = np.zeros(5)
            calib["RT"] = np.eye(4)
    shutil.rmtree(data_dir, ignore_errors=True)
    os.rename(tmp, data_dir)


def inputs(args, cv2, h5py):
    key = f"v{GEN_VERSION}-{WIDTH}x{HEIGHT}-q{JPEG_QUALITY}-cams{args.cams}-frames{args.frames}"
    data_dir = os.path.join(args.build_dir, "bench-data", key)
    if not os.path.exists(os.path.join(data_dir, "legacy.smc")):
        print(f"generating inputs in {data_dir} (cached for later runs)", file=sys.stderr)
        generate(args, cv2, h5py, data_dir)
    return data_dir


# --------------------------------------------------------------------------
# Correctness: ours against OpenCV on every input, before anything is timed
# --------------------------------------------------------------------------

def filter_cd_values(dset):
    plist = dset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code, _, values, _ = plist.get_filter(i)
        if code == FILTER_ID:
            return tuple(values)
    return None


def expected_from_cv2(cv2, data, rule, flags):
    """What the rule promises, from OpenCV alone (the reference reader's semantics)."""
    color = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if color is None:
        raise BenchError("cv2.imdecode failed on an input frame")
    if rule == 3:
        return np.max(color, axis=2)
    if rule == 4:
        return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    if rule in (1, 2) and color.ndim == 3:
        return color if flags & FLAG_BGR else np.ascontiguousarray(color[:, :, ::-1])
    raise BenchError(f"no OpenCV oracle for rule {rule}")


class DumpStream:
    """Pixels bench_decode --dump writes, frame after frame, read as they come."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE)

    def next(self, shape):
        want = int(np.prod(shape))
        raw = self.proc.stdout.read(want)
        if len(raw) != want:
            return None
        return np.frombuffer(raw, dtype=np.uint8).reshape(shape)

    def close(self):
        self.proc.stdout.close()
        return self.proc.wait()


def decoder_argv(args, rule, flags, files):
    argv = [args.bench_decode, "--rule", RULE_NAMES[rule]]
    if flags & FLAG_BGR:
        argv.append("--bgr")
    return argv + list(files)


def pixels_digest(array):
    return (array.dtype.str, array.shape, hashlib.sha1(array.tobytes()).digest())


def check_all(args, cv2, legacy, repacked, data_dir, cams, plan, expected):
    """Every frame of every camera: the repacked chunk is the legacy bytes and
    its h5py read equals OpenCV; for the generated cameras also the C API and
    (masks) bare libspng outputs. Copied cameras are compared by digest with
    the OpenCV result of the same bytes. Fills `expected` (path -> digest of
    OpenCV's pixels) for check_wheel. Returns (frames checked, failures)."""
    failures = []
    checked = 0
    oracle = {}  # sha1 of encoded bytes -> digest of the pixels OpenCV gives
    for cam in cams:
        generated = int(cam) < GENERATED_CAMS
        for kind in ("mask", "color"):
            rule, flags = plan[kind]
            capi = spng = None
            if generated:
                files = [bytes_file(data_dir, cam, kind, i) for i in range(args.frames)]
                capi = DumpStream(decoder_argv(args, rule, flags, files) + ["--dump"])
                if kind == "mask":
                    spng = DumpStream([args.bench_decode, "--decoder", "spng-g8", "--dump"] + files)
            for i in range(args.frames):
                path = frame_path(cam, kind, i)
                data = legacy[path][()]
                dset = repacked[path]
                cd = filter_cd_values(dset)
                if cd is None or cd[1] != rule or cd[2] != flags:
                    failures.append(f"{path}: repacked with filter values {cd}, expected rule {rule} flags {flags}")
                    continue
                _, chunk = dset.id.read_direct_chunk((0,) * dset.ndim)
                if bytes(chunk) != data.tobytes():
                    failures.append(f"{path}: the repacked chunk is not the original bytes")
                got = dset[()]
                # The read_direct rows fill a reused array: same pixels.
                direct = np.full(dset.shape, 0x5A, dset.dtype)
                dset.read_direct(direct)
                if not np.array_equal(direct, got):
                    failures.append(f"{path}: read_direct into an array differs from dset[()]")
                key = hashlib.sha1(data.tobytes()).digest()
                checked += 1
                if not generated:
                    expected[path] = oracle.get(key)
                    if oracle.get(key) != pixels_digest(got):
                        failures.append(f"{path}: h5py read of the repacked file differs from OpenCV")
                    continue
                want = expected_from_cv2(cv2, data, rule, flags)
                oracle[key] = expected[path] = pixels_digest(want)
                if got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want):
                    failures.append(f"{path}: h5py read of the repacked file differs from OpenCV "
                                    f"({got.dtype}{got.shape} vs {want.dtype}{want.shape}, "
                                    f"{int(np.count_nonzero(got != want)) if got.shape == want.shape else 'all'} samples)")
                out = capi.next(want.shape)
                if out is None or not np.array_equal(out, want):
                    failures.append(f"{path}: C API output differs from OpenCV")
                if spng is not None:
                    gray = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
                    out = spng.next(gray.shape)
                    if out is None or not np.array_equal(out, gray):
                        failures.append(f"{path}: bare libspng G8 output differs from cv2 IMREAD_GRAYSCALE")
            for stream, name in ((capi, "bench_decode"), (spng, "bench_decode --decoder spng-g8")):
                if stream is not None and stream.close() != 0:
                    failures.append(f"Camera/{cam}/{kind}: {name} --dump failed")
    return checked, failures


def check_extraction(args, cv2, legacy, cam, work, formats):
    """h5imgdump on the timed camera: keep files are the stored bytes; decoded
    files hold what the reference reader gets (masks) or its RGB (colour)."""
    failures = []
    for fmt in ["keep"] + formats:
        out = os.path.join(work, f"check-{fmt}")
        shutil.rmtree(out, ignore_errors=True)
        rc = subprocess.run(dump_argv(args, out, fmt, 2, cam, args.legacy)).returncode
        if rc != 0:
            failures.append(f"h5imgdump --format {fmt} exited with {rc}")
            continue
        for kind in ("mask", "color"):
            for i in range(args.frames):
                data = legacy[frame_path(cam, kind, i)][()]
                ext = {"keep": "jpg" if kind == "color" else "png", "png": "png", "npy": "npy",
                       "pgm-ppm": "ppm" if kind == "color" else "pgm"}[fmt]
                name = os.path.join(out, "Camera", cam, kind, f"{i:06d}.{ext}")
                if not os.path.exists(name):
                    failures.append(f"h5imgdump --format {fmt}: {name} missing")
                    continue
                if fmt == "keep":
                    with open(name, "rb") as fp:
                        if fp.read() != data.tobytes():
                            failures.append(f"h5imgdump --format keep: {name} is not the stored bytes")
                    continue
                want = expected_from_cv2(cv2, data, 3 if kind == "mask" else 2, 0)
                if fmt == "npy":
                    got = np.load(name)
                else:
                    got = cv2.imread(name, cv2.IMREAD_UNCHANGED)
                    if got is not None and got.ndim == 3:
                        got = got[:, :, ::-1]
                if got is None or got.shape != want.shape or not np.array_equal(got, want):
                    failures.append(f"h5imgdump --format {fmt}: {name} differs from OpenCV")
        shutil.rmtree(out, ignore_errors=True)
    return failures


def check_wheel(args, cams, plan, expected):
    """The same frames read by the wheel's h5py (its own HDF5) in a worker: every
    frame must equal OpenCV (by digest), dset[()] and read_direct alike, and the
    worker must not have Debian's libhdf5_serial mapped (the plugin would then be
    running against a second HDF5). Returns (wheel versions, failures)."""
    argv = [args.wheel_python, os.path.abspath(__file__), "--worker", "check-wheel", "--legacy", args.legacy,
            "--repacked", args.repacked, "--cam", ",".join(cams), "--frames", str(args.frames)]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"the wheel check ({' '.join(argv)}) failed: {proc.stderr.strip()[-800:]}")
    lines = proc.stdout.splitlines()
    info = json.loads(lines[0])
    failures = []
    if not (info["hdf5"].startswith("1.14.") or info["hdf5"].startswith("2.")):
        failures.append(f"{args.wheel_python}: h5py {info['h5py']} runs HDF5 {info['hdf5']}, not a wheel's 1.14 or 2.x")
    if info["serial_mapped"]:
        failures.append(f"{args.wheel_python}: Debian's HDF5 is mapped in the wheel's process: {info['serial_mapped']}")
    seen = set()
    for line in lines[1:]:
        path, dtype, shape, sha1, direct_same = json.loads(line)
        seen.add(path)
        want = expected.get(path)
        if want is None or (dtype, tuple(shape), bytes.fromhex(sha1)) != want:
            failures.append(f"{path}: the wheel's h5py read of the repacked file differs from OpenCV")
        if not direct_same:
            failures.append(f"{path}: the wheel's read_direct differs from its dset[()]")
    missing = sorted(set(expected) - seen)
    if missing:
        failures.append(f"the wheel check read {len(seen)} frames, {len(missing)} missing (first: {missing[0]})")
    return info, failures


def wheel_check_main(w):
    """Worker side of check_wheel: one JSON line of versions, then one per frame."""
    import h5py
    out = [json.dumps({"h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version, "numpy": np.__version__,
                       "serial_mapped": []})]
    with h5py.File(w.repacked, "r") as repacked:
        for cam in w.cam.split(","):
            for kind in ("mask", "color"):
                for i in range(w.frames):
                    path = frame_path(cam, kind, i)
                    dset = repacked[path]
                    got = dset[()]
                    direct = np.full(dset.shape, 0x5A, dset.dtype)
                    dset.read_direct(direct)
                    out.append(json.dumps([path, got.dtype.str, list(got.shape), hashlib.sha1(got.tobytes()).hexdigest(),
                                           bool(np.array_equal(direct, got))]))
    with open("/proc/self/maps") as fp:
        serial = sorted({line.split()[-1] for line in fp if "libhdf5_serial" in line})
    header = json.loads(out[0])
    header["serial_mapped"] = serial
    out[0] = json.dumps(header)
    print("\n".join(out))
    return 0


# --------------------------------------------------------------------------
# Timed cases. Each returns one figure: ms per frame, or seconds.
# --------------------------------------------------------------------------

def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def dump_argv(args, out, fmt, jobs, cam, source):
    argv = [args.h5imgdump, "--extract", out, "--format", fmt, "--select", f"Camera/{cam}/**", "-q"]
    if jobs:
        argv += ["-j", str(jobs)]
    return argv + [source]


def run_tool(argv):
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited with {proc.returncode}: {proc.stderr.strip()[-500:]}")


def capi_ms(argv):
    proc = subprocess.run(argv + ["--reps", "1", "--warmup", "1"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"bench_decode failed: {proc.stderr.strip()}")
    values = [float(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("ms_per_frame")]
    return statistics.median(values)


# Python-side cases run in a fresh interpreter each time, under a pinned
# glibc malloc regime. h5py's dset[()] allocates two buffers of the decoded
# size per read (numpy's array and the filter's output, which HDF5 copies
# into it); cv2 allocates its own. With glibc's default, adaptive settings
# whether those come back as reused memory or as fresh pages to fault in
# depends on what else sits on the heap: the same loop measured 1.2 or
# 6.5 ms per mask depending on trivia like a function call. Two pinned
# regimes make both ends reproducible, for the baselines and ours alike.
MALLOC_REGIMES = {
    # Every buffer above 128 KiB is mmap'ed and unmapped on free: each read
    # faults in fresh zeroed pages, as the first frames of any process do.
    "fresh": {"MALLOC_MMAP_THRESHOLD_": "131072"},
    # glibc as shipped: what a user's loop gets without tuning anything,
    # for this loop and this heap; either end above is possible elsewhere.
    "default": {},
    # Buffers up to 32 MiB (glibc's ceiling) come from the heap and freed
    # memory is never returned: the steady state of a long-running reader.
    "reused": {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "4294967296"},
}
REGIME_LABEL = {"fresh": "fresh pages", "default": "default malloc", "reused": "reused pages"}
WARMUP_FRAMES = 3


def worker_main(argv):
    ap = argparse.ArgumentParser(prog="bench.py --worker")
    ap.add_argument("--worker", required=True)
    ap.add_argument("--legacy", required=True)
    ap.add_argument("--repacked", required=True)
    ap.add_argument("--cam", required=True)
    ap.add_argument("--frames", type=int, required=True)
    ap.add_argument("--out", default="")
    ap.add_argument("--loops", type=int, default=1, help="passes over the frames (more for profilers)")
    w = ap.parse_args(argv)
    if w.worker == "check-wheel":
        return wheel_check_main(w)
    import h5py
    case = w.worker
    kind = "mask" if case.startswith("mask") else "color"
    paths = [frame_path(w.cam, kind, i) for i in range(w.frames)]
    legacy = h5py.File(w.legacy, "r")
    repacked = h5py.File(w.repacked, "r")
    if case in ("mask-reference", "mask-cv2-gray", "color-cv2", "extract-reencode"):
        import cv2
        flag = cv2.IMREAD_GRAYSCALE if case == "mask-cv2-gray" else cv2.IMREAD_COLOR
        reduce = case == "mask-reference"

        def one(p):
            image = cv2.imdecode(legacy[p][()], flag)
            return np.max(image, axis=2) if reduce else image
    elif case in ("mask-h5py", "color-h5py"):
        def one(p):
            return repacked[p][()]
    elif case in ("mask-h5py-direct", "color-h5py-direct"):
        # One array for the whole loop, as a reader that knows its frame
        # size can keep: h5py then allocates nothing per frame.
        first = repacked[paths[0]]
        out = np.empty(first.shape, first.dtype)

        def one(p):
            repacked[p].read_direct(out)
            return out
    else:
        raise BenchError(f"unknown worker case {case}")

    if case == "extract-reencode":
        # What existing extraction scripts do: decode every frame, write it
        # back out as an image file (PNG masks, JPEG colour, cv2 defaults).
        start = time.perf_counter()
        for kind in ("mask", "color"):
            os.makedirs(os.path.join(w.out, w.cam, kind), exist_ok=True)
            for i in range(w.frames):
                image = cv2.imdecode(legacy[frame_path(w.cam, kind, i)][()], cv2.IMREAD_COLOR)
                if kind == "mask":
                    image = np.max(image, axis=2)
                ext = "png" if kind == "mask" else "jpg"
                if not cv2.imwrite(os.path.join(w.out, w.cam, kind, f"{i:06d}.{ext}"), image):
                    raise BenchError("cv2.imwrite failed")
        print(f"{time.perf_counter() - start:.6f}")
        return 0
    # Untimed first frames: library loading (the plugin, codecs) and, in the
    # reused regime, the heap growing to its working size.
    for p in paths[:WARMUP_FRAMES]:
        one(p)
    start = time.perf_counter()
    for _ in range(w.loops):
        for p in paths:
            one(p)
    print(f"{(time.perf_counter() - start) * 1e3 / (w.frames * w.loops):.6f}")
    return 0


def worker_value(args, case, cam, regime=None, out="", python=None):
    argv = [python or sys.executable, os.path.abspath(__file__), "--worker", case, "--legacy", args.legacy,
            "--repacked", args.repacked, "--cam", cam, "--frames", str(args.frames), "--out", out]
    env = dict(os.environ)
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES"):
        env.pop(name, None)
    env.update(MALLOC_REGIMES.get(regime, {}))
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise BenchError(f"worker {case} failed: {proc.stderr.strip()[-800:]}")
    return float(proc.stdout.split()[-1])


class Case:
    """One figure: `measure` returns ms per frame or seconds; `baseline` is
    the key of the case its speed-up is computed against."""

    def __init__(self, key, section, label, unit, measure, baseline, prepare=None):
        self.key, self.section, self.label, self.unit = key, section, label, unit
        self.measure, self.baseline, self.prepare = measure, baseline, prepare


def build_cases(args, data_dir, cam, plan, work):
    files = {kind: [bytes_file(data_dir, cam, kind, i) for i in range(args.frames)] for kind in ("mask", "color")}
    cases = []

    def add(*a, **k):
        cases.append(Case(*a, **k))

    def py(case, regime, python=None):
        return lambda: worker_value(args, case, cam, regime, python=python)

    def capi(kind, *extra):
        rule, flags = plan[kind]
        return lambda: capi_ms(decoder_argv(args, rule, flags, files[kind]) + list(extra))

    for regime in MALLOC_REGIMES:
        tag = f" ({REGIME_LABEL[regime]})"
        base = f"mask-reference@{regime}"
        add(base, "mask", "reference reader: h5py bytes + cv2.imdecode(IMREAD_COLOR) + np.max(axis=2)" + tag,
            "ms/frame", py("mask-reference", regime), base)
        add(f"mask-cv2-gray@{regime}", "mask", "h5py bytes + cv2.imdecode(IMREAD_GRAYSCALE)" + tag,
            "ms/frame", py("mask-cv2-gray", regime), base)
        add(f"mask-h5py@{regime}", "mask", "**ours via h5py**: dset[()] on the repacked file" + tag,
            "ms/frame", py("mask-h5py", regime), base)
        if args.wheel_python:
            add(f"mask-wheel@{regime}", "mask", f"ours via the wheel's h5py ({args.wheel_label}): dset[()] on the "
                "repacked file" + tag, "ms/frame", py("mask-h5py", regime, args.wheel_python), base)
    # Where h5py's own result array goes: dset[()] allocates it zeroed
    # (calloc, which numpy does not advise into huge pages), and with fresh
    # pages faulting it in is a large share of our read. Not a target row.
    add("mask-h5py-direct@fresh", "mask", "ours via h5py, read_direct into one reused array (fresh pages)",
        "ms/frame", py("mask-h5py-direct", "fresh"), "mask-reference@fresh")
    # C rows reuse one output buffer, so they compare with the reused regime.
    add("mask-spng", "mask", "libspng alone, SPNG_FMT_G8 (C, bytes in memory, buffer reused)", "ms/frame",
        lambda: capi_ms([args.bench_decode, "--decoder", "spng-g8"] + files["mask"]), "mask-reference@reused")
    add("mask-capi", "mask", "ours via the C API: h5img_decoder_decode (bytes in memory, buffer reused)", "ms/frame",
        capi("mask"), "mask-reference@reused")
    for regime in MALLOC_REGIMES:
        tag = f" ({REGIME_LABEL[regime]})"
        base = f"color-cv2@{regime}"
        add(base, "color", "h5py bytes + cv2.imdecode(IMREAD_COLOR)" + tag, "ms/frame", py("color-cv2", regime), base)
        add(f"color-h5py@{regime}", "color", "**ours via h5py**: dset[()] on the repacked file" + tag,
            "ms/frame", py("color-h5py", regime), base)
        if args.wheel_python:
            add(f"color-wheel@{regime}", "color", f"ours via the wheel's h5py ({args.wheel_label}): dset[()] on the "
                "repacked file" + tag, "ms/frame", py("color-h5py", regime, args.wheel_python), base)
    add("color-h5py-direct@fresh", "color", "ours via h5py, read_direct into one reused array (fresh pages)",
        "ms/frame", py("color-h5py-direct", "fresh"), "color-cv2@fresh")
    add("color-capi", "color", "ours via the C API: h5img_decoder_decode (bytes in memory, buffer reused)", "ms/frame",
        capi("color"), "color-cv2@reused")
    # The -j 2 ceiling on this machine at this moment: the same decode on two
    # threads with nothing shared (no HDF5, no files).
    add("color-capi-2t", "color", "ours via the C API on 2 threads (wall time per frame: the -j 2 ceiling)", "ms/frame",
        capi("color", "--threads", "2"), "color-cv2@reused")

    def remove_tree(path):
        return lambda: shutil.rmtree(path, ignore_errors=True)

    def remove_file(path):
        return lambda: os.path.exists(path) and os.remove(path)

    def tool(*argvs):
        return lambda: timed(lambda: [run_tool(a) for a in argvs])

    out = os.path.join(work, "extract-reencode")
    add("extract-reencode", "extract",
        "decode and re-encode: h5py bytes -> cv2.imdecode -> cv2.imwrite (png masks, jpg colour; default malloc)", "s",
        lambda: worker_value(args, "extract-reencode", cam, None, out), "extract-reencode", remove_tree(out))
    for label, source in (("legacy", args.legacy), ("repacked", args.repacked)):
        out = os.path.join(work, f"extract-keep-{label}")
        add("extract-keep" + ("" if label == "legacy" else "-repacked"), "extract",
            f"`h5imgdump --extract --format keep` ({label} file, default -j)", "s",
            tool(dump_argv(args, out, "keep", 0, cam, source)), "extract-reencode", remove_tree(out))
    for fmt in args.decode_formats:
        for jobs in (1, 2):
            out = os.path.join(work, f"extract-{fmt}-j{jobs}")
            add(f"extract-{fmt}-j{jobs}", "extract", f"`h5imgdump --extract --format {fmt} -j {jobs}` (legacy file)", "s",
                tool(dump_argv(args, out, fmt, jobs, cam, args.legacy)), "extract-reencode", remove_tree(out))

    target = os.path.join(work, "repacked-timed.h5")
    add("repack", "repack", "`h5imgrepack` (writes a temporary file, fsyncs, renames)", "s",
        tool([args.h5imgrepack, "-q", args.legacy, target]), "cp", remove_file(target))
    add("repack-nosync", "repack", "`h5imgrepack --no-sync` (temporary file and rename, no fsync, like cp)", "s",
        tool([args.h5imgrepack, "-q", "--no-sync", args.legacy, target]), "cp", remove_file(target))
    target = os.path.join(work, "copy.smc")
    add("cp", "repack", "`cp` of the same file (no fsync)", "s", tool(["cp", args.legacy, target]), "cp",
        remove_file(target))
    add("cp-sync", "repack", "`cp` then `sync FILE` (durable, like h5imgrepack without --no-sync)", "s",
        tool(["cp", args.legacy, target], ["sync", target]), "cp", remove_file(target))
    return cases


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def fmt_num(value):
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def report(args, cases, results, cores_used, size_mb, input_notes, machine, busy_note, others_share):
    med = {key: statistics.median(vals) for key, vals in results.items()}
    print("## h5img benchmark\n")
    print(f"{args.reps} repetitions per figure, run interleaved (one of each per round); median shown, min - max beside it. "
          f"Reads: camera {args.cam}, {args.frames} frames of each kind, per-frame figures. Extraction: all "
          f"{2 * args.frames} frames of camera {args.cam}.\n")
    print("Machine:\n")
    print("\n".join(machine))
    print(f"- Load: {busy_note}")
    if others_share > 0.10:
        print(f"- **Warning: other processes kept {100 * others_share:.0f}% of the CPU busy during this run; "
              f"absolute figures and especially -j 2 scaling are not trustworthy. Rerun on a quiet machine.**")
    print()
    print("Inputs:\n")
    print("\n".join(input_notes) + "\n")
    print("| what | method | median | min - max | unit | speed vs baseline | cores busy |")
    print("|---|---|---:|---:|---|---:|---:|")
    for case in cases:
        vals = results[case.key]
        if case.section == "repack":
            mbs = [size_mb / v for v in vals]
            value, lo, hi, unit = size_mb / med[case.key], min(mbs), max(mbs), "MB/s"
        else:
            value, lo, hi, unit = med[case.key], min(vals), max(vals), case.unit
        if case.baseline == case.key:
            speed = "baseline"
        else:
            ratio = med[case.baseline] / med[case.key]
            speed = f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"
        cores = statistics.median(cores_used[case.key])
        print(f"| {case.section} | {case.label} | {fmt_num(value)} | {fmt_num(lo)} - {fmt_num(hi)} | {unit} | {speed} | {cores:.2f} |")

    j_fmt = args.decode_formats[0] if args.decode_formats else "npy"
    print("\n| target | measured | goal | verdict |")
    print("|---|---:|---:|---|")
    for text, base, ours, goal in TARGETS:
        variants = [(f" ({REGIME_LABEL[r]})", r) for r in MALLOC_REGIMES] if "{r}" in base else [("", None)]
        for suffix, regime in variants:
            b, o = base.format(r=regime, fmt=j_fmt), ours.format(r=regime, fmt=j_fmt)
            if b not in med or o not in med:
                continue
            ratio = med[b] / med[o]
            verdict = "PASS" if ratio >= goal else "MISS"
            print(f"| {text.format(fmt=j_fmt)}{suffix} | {ratio:.2f}x | >= {goal:.3g}x | {verdict} |")
    for text, base, ours in UNLIKE_PAIRS:
        if base in med and ours in med:
            print(f"| {text} | {med[base] / med[ours]:.2f}x | | |")
    for fmt in args.decode_formats[1:]:
        r = med[f"extract-{fmt}-j1"] / med[f"extract-{fmt}-j2"]
        print(f"| (for information) -j 2 vs -j 1 with --format {fmt} | {r:.2f}x | | |")
    if "color-capi-2t" in med:
        r = med["color-capi"] / med["color-capi-2t"]
        print(f"| (ceiling) C API colour decode on 2 threads vs 1: the most -j 2 could gain here | {r:.2f}x | | |")
    print("\nNotes: 'fresh pages' and 'reused pages' pin glibc malloc (MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_) "
          "for both the OpenCV paths and ours: every large buffer freshly faulted in, or recycled. 'default malloc' "
          "leaves glibc's adaptive settings alone, as a user's script does; with them a process lands on either side "
          "depending on its heap history, and this loop's side is the one shown. The C API rows reuse one "
          "decoder and one output buffer. cp does not fsync; h5imgrepack does unless --no-sync. Nothing is dropped from the page cache: "
          "every method reads a warm file. 'cores busy' is CPU time over wall time of each measurement, children "
          "included (Python rows: the whole worker process, start-up included; C rows: the whole bench_decode process).")


# --------------------------------------------------------------------------

def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        return worker_main(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", default=os.environ.get("BUILD_DIR", os.path.join(ROOT, "build")))
    ap.add_argument("--frames", type=int, default=24, help="frames per camera (colour and mask each; default 24)")
    ap.add_argument("--cams", type=int, default=8, help="cameras in the file (default 8: 00 and 01 encoded, the others "
                    "copies of their bytes; camera 00 is timed)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions per figure (default 5; the median is reported)")
    ap.add_argument("--decode-formats", default="npy",
                    help="h5imgdump formats timed at -j 1 and -j 2; the first one is the -j target (default npy; npy,png adds the PNG encoder)")
    ap.add_argument("--only", default="", help="comma-separated case keys (see --list) to time, after the "
                    "correctness check; prints medians instead of the table")
    ap.add_argument("--list", action="store_true", help="list the case keys and exit")
    ap.add_argument("--wheel-python", default=os.environ.get("H5IMG_BENCH_WHEEL_PYTHON", ""),
                    help="python of a venv holding a PyPI h5py wheel (scripts/setup-venv.sh; run.sh makes one with "
                    "h5py==3.15.1): adds the mask and colour h5py rows read through that wheel's own HDF5 "
                    "(default $H5IMG_BENCH_WHEEL_PYTHON; empty: no wheel rows)")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    args.decode_formats = [f for f in args.decode_formats.split(",") if f]
    args.cam = "00"
    args.wheel_python = os.path.abspath(args.wheel_python) if args.wheel_python else ""
    args.wheel_label, args.wheel_info = "HDF5 ?", None  # filled by the wheel check
    if args.frames < 1 or args.cams < 1 or args.reps < 1:
        ap.error("--frames, --cams and --reps must be positive")

    os.environ["HDF5_PLUGIN_PATH"] = os.path.join(args.build_dir, "plugins")
    import cv2
    import h5py

    args.bench_decode = os.path.join(args.build_dir, "tests", "bench", "bench_decode")
    args.h5imgrepack = os.path.join(args.build_dir, "tools", "h5imgrepack")
    args.h5imgdump = os.path.join(args.build_dir, "tools", "h5imgdump")
    for exe in (args.bench_decode, args.h5imgrepack, args.h5imgdump,
                os.path.join(args.build_dir, "plugins", "libh5img.so")) + ((args.wheel_python,) if args.wheel_python else ()):
        if not os.path.exists(exe):
            raise BenchError(f"{exe} is missing: build first (tests/bench/run.sh does)")

    busy0, own0, wall0 = busy_jiffies(), own_cpu_seconds(), time.monotonic()
    load0 = os.getloadavg()
    data_dir = inputs(args, cv2, h5py)
    args.legacy = os.path.join(data_dir, "legacy.smc")
    work = os.path.join(args.build_dir, "bench-work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    # Rebuilt on every run (the tool changes); kept beside the inputs so the
    # profiling commands in README.md have it.
    args.repacked = os.path.join(data_dir, "repacked.h5")
    run_tool([args.h5imgrepack, "-q", "--force", args.legacy, args.repacked])

    cams = [f"{c:02d}" for c in range(args.cams)]
    with h5py.File(args.legacy, "r") as legacy, h5py.File(args.repacked, "r") as repacked:
        # The rule and flags the C API figures use are whatever the repacked
        # datasets carry, so C and h5py measure the same decode.
        plan = {}
        for kind in ("mask", "color"):
            cd = filter_cd_values(repacked[frame_path(args.cam, kind, 0)])
            if cd is None:
                raise BenchError(f"{frame_path(args.cam, kind, 0)} was not repacked with filter {FILTER_ID}")
            plan[kind] = (cd[1], cd[2])

        if not args.list:
            print(f"checking every frame against OpenCV ({args.cams} cameras x {args.frames} x 2)...", file=sys.stderr)
            expected = {}
            checked, failures = check_all(args, cv2, legacy, repacked, data_dir, cams, plan, expected)
            failures += check_extraction(args, cv2, legacy, args.cam, work, args.decode_formats)
            if args.wheel_python:
                print(f"checking every frame again through the wheel's h5py ({args.wheel_python})...", file=sys.stderr)
                wheel_info, wheel_failures = check_wheel(args, cams, plan, expected)
                failures += wheel_failures
                args.wheel_label = f"HDF5 {wheel_info['hdf5']}"
                args.wheel_info = wheel_info
            if failures:
                print(f"CORRECTNESS FAILURE: {len(failures)} problem(s); nothing was timed", file=sys.stderr)
                for line in failures[:50]:
                    print("  " + line, file=sys.stderr)
                return 1
            print(f"  {checked} frames identical to OpenCV (h5py, C API, libspng, h5imgdump"
                  f"{', the wheel h5py' if args.wheel_python else ''})", file=sys.stderr)

        cases = build_cases(args, data_dir, args.cam, plan, work)
        if args.list:
            print("\n".join(c.key for c in cases))
            return 0
        if args.only:
            wanted = set(args.only.split(","))
            unknown = wanted - {c.key for c in cases}
            if unknown:
                raise BenchError(f"unknown case(s) {sorted(unknown)}; see --list")
            cases = [c for c in cases if c.key in wanted]
        results = {c.key: [] for c in cases}
        cores_used = {c.key: [] for c in cases}
        for rep in range(args.reps):
            print(f"round {rep + 1}/{args.reps}", file=sys.stderr)
            for case in cases:
                if case.prepare:
                    case.prepare()
                # CPU over wall time of the whole measurement (children
                # included): shows whether -j 2 really ran on two cores.
                cpu0, wall0_case = own_cpu_seconds(), time.perf_counter()
                results[case.key].append(case.measure())
                cores_used[case.key].append((own_cpu_seconds() - cpu0) / (time.perf_counter() - wall0_case))
        if args.only:
            for key in results:
                print(f"{key}: median {statistics.median(results[key]):.3f} over {args.reps}")
            return 0

        sizes = {kind: [legacy[p].size for p in (frame_path(args.cam, kind, i) for i in range(args.frames))]
                 for kind in ("mask", "color")}
    shutil.rmtree(work, ignore_errors=True)

    busy1, own1, wall1 = busy_jiffies(), own_cpu_seconds(), time.monotonic()
    load1 = os.getloadavg()
    ticks = os.sysconf("SC_CLK_TCK")
    cores = os.cpu_count()
    elapsed = wall1 - wall0
    others = max(0.0, (busy1 - busy0) / ticks - (own1 - own0))
    busy_note = (f"load average {load0[0]:.2f} before, {load1[0]:.2f} after; over the {elapsed:.0f} s run other processes "
                 f"used {others:.0f} CPU-s, i.e. {100 * others / (elapsed * cores):.0f}% of the {cores} cores "
                 f"(this benchmark: {own1 - own0:.0f} CPU-s)")
    pixels = WIDTH * HEIGHT
    input_notes = [
        f"- {args.cams} cameras x {args.frames} frames, {WIDTH}x{HEIGHT}; legacy file {os.path.getsize(args.legacy) / 1e6:.1f} MB "
        f"(`{data_dir}`)",
        f"- colour: JPEG q{JPEG_QUALITY} (skimage photographs upscaled, sensor noise), mean "
        f"{statistics.mean(sizes['color']) / 1e3:.0f} KB; stored rule {RULE_NAMES[plan['color'][0]]}"
        f"{', BGR' if plan['color'][1] & FLAG_BGR else ', RGB'}",
        f"- masks: 8-bit gray PNG (soft-edged silhouette, cv2 default PNG settings), mean "
        f"{statistics.mean(sizes['mask']) / 1e3:.0f} KB = {pixels / statistics.mean(sizes['mask']):.0f}:1; "
        f"stored rule {RULE_NAMES[plan['mask'][0]]}",
        "- correctness: every frame of every camera checked against OpenCV before timing (h5py, C API, libspng, h5imgdump"
        + (", and h5py again through the wheel's HDF5)" if args.wheel_python else ")"),
    ]
    report(args, cases, results, cores_used, os.path.getsize(args.legacy) / 1e6, input_notes,
           machine_lines(args, cv2, h5py), busy_note, others / (elapsed * cores))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench.py: {exc}", file=sys.stderr)
        sys.exit(1)
