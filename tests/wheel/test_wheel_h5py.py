#!/usr/bin/env python3
"""test_wheel_h5py.py: the plugin inside a PyPI h5py wheel's own HDF5 (1.14 or 2.x): reads, writes and failures, against OpenCV 4.6.

Run by each venv python of H5IMG_WHEEL_PYTHONS (`python -m pytest`), with
HDF5_PLUGIN_PATH at the built plugin and H5IMG_WHEEL_FIXTURES at the directory
make_fixtures.py filled (the repacked samples and Debian's OpenCV 4.6 decode of
every frame). The filter's rules are defined as OpenCV 4.6's; the venv's
opencv-python-headless (5.1.0 when this was written) decodes every sample
frame exactly as Debian's 4.6 does (test_venv_opencv_decodes_as_opencv_46
keeps checking that), so the bytes these tests write themselves are judged by
the venv's cv2.imdecode.
"""
import ctypes
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

import cv2
import h5py
import numpy as np
import pytest

FILTER = 49301
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8\xff"
RULES = {1: "native", 2: "color", 3: "mask", 4: "luma"}
FLAG_BGR = 1
HDF5_VERSION = h5py.version.hdf5_version_tuple
# HDF5 1.14 and later pause the error stack while a filter decodes a chunk:
# a read failure's cause reaches h5img_last_error() only (include/h5img.h).
STACK_PAUSED = HDF5_VERSION >= (1, 14)


def required_env(name, why):
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set: {why} (CTest sets it; see tests/wheel/CMakeLists.txt)")
    return value


def plugin_path():
    directory = required_env("HDF5_PLUGIN_PATH", "it must name the directory holding the built libh5img.so")
    path = os.path.join(directory.split(":")[0], "libh5img.so")
    if not os.path.exists(path):
        pytest.fail(f"{path} does not exist: build the plugin first")
    return path


def last_error():
    """h5img_last_error() of the plugin copy HDF5 loaded: dlopen of the same file finds the loaded one."""
    lib = ctypes.CDLL(plugin_path())
    lib.h5img_last_error.restype = ctypes.c_char_p
    return lib.h5img_last_error().decode("utf-8", "replace")


def mapped_files():
    with open("/proc/self/maps") as fp:
        return {fields[5].strip() for fields in (line.split(None, 5) for line in fp) if len(fields) == 6}


def filter_cd(dset):
    _, cd, _ = dset.id.get_create_plist().get_filter_by_id(FILTER)
    return tuple(cd)


def venv_cv2_decode(data, rule):
    """The venv's own OpenCV, under the same rules as tests/oracle/make_oracle.py (RGB order)."""
    buf = np.frombuffer(data, np.uint8)
    no_exif = cv2.IMREAD_IGNORE_ORIENTATION
    if rule == 1:
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    elif rule == 2:
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR | no_exif)
    elif rule == 3:
        img = np.max(cv2.imdecode(buf, cv2.IMREAD_COLOR | no_exif), axis=2)
    else:
        img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE | no_exif)
    if img.ndim == 3:
        img = img[:, :, [2, 1, 0, 3][: img.shape[2]]]
    return np.ascontiguousarray(img)


@pytest.fixture(scope="session")
def manifest():
    fixtures = required_env("H5IMG_WHEEL_FIXTURES", "the directory tests/wheel/make_fixtures.py wrote")
    path = os.path.join(fixtures, "manifest.json")
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: the wheel.fixtures test (make_fixtures.py) must run first")
    with open(path) as fp:
        data = json.load(fp)
    assert data["opencv"].startswith("4.6."), f"the oracle was made with OpenCV {data['opencv']}, not 4.6"
    assert set(data["samples"]) == {"dna_sample.smc", "renderme_sample.smc"}, sorted(data["samples"])
    return data


@pytest.fixture(scope="session")
def sample_frames(manifest):
    """[(sample, path, rule, flags, stored bytes, pixels read through the wheel, OpenCV 4.6 pixels)]."""
    out = []
    for sample, entry in sorted(manifest["samples"].items()):
        with h5py.File(entry["file"], "r") as f:
            for frame in entry["frames"]:
                dset = f[frame["path"]]
                mask, chunk = dset.id.read_direct_chunk((0,) * dset.ndim)
                assert mask == 0, f"{sample}:{frame['path']}: filter skipped for the chunk"
                assert hashlib.sha1(bytes(chunk)).hexdigest() == frame["sha1"], f"{sample}:{frame['path']} changed"
                out.append((sample, frame["path"], frame["rule"], frame["flags"], bytes(chunk), dset[()],
                            np.load(frame["npy"])))
    return out


@pytest.fixture
def h5file(tmp_path):
    return str(tmp_path / "wheel.h5")


# ----------------------------------------------------------------------------- whose HDF5


def test_h5py_uses_the_wheels_own_hdf5():
    """Guards: the matrix really runs a wheel's HDF5 (1.14.x or 2.x), not Debian's 1.10 through a system h5py."""
    assert HDF5_VERSION[:2] == (1, 14) or HDF5_VERSION[0] == 2, f"h5py {h5py.__version__} runs HDF5 {HDF5_VERSION}"
    assert not h5py.__file__.startswith("/usr/lib/python3/"), f"this is Debian's h5py ({h5py.__file__})"
    assert h5py.h5.get_libversion() == HDF5_VERSION


def test_plugin_brings_no_second_hdf5(sample_frames):
    """Guards: after reads through the plugin, the only HDF5 mapped is the wheel's; Debian's libhdf5_serial (which a
    plugin linking libhdf5 would drag in, each library then with its own state) is not in the process."""
    assert sample_frames, "no frame was read"
    files = mapped_files()
    plugins = sorted(p for p in files if os.path.basename(p) == "libh5img.so")
    assert plugins == [os.path.realpath(plugin_path())], f"plugin copies mapped: {plugins}"
    serial = sorted(p for p in files if "libhdf5_serial" in p)
    assert not serial, f"Debian's HDF5 is mapped into the wheel's process: {serial}"
    h5py_root = os.path.dirname(os.path.dirname(os.path.abspath(h5py.__file__)))
    hdf5_libs = sorted(p for p in files if os.path.basename(p).startswith("libhdf5"))
    assert hdf5_libs, "no libhdf5 is mapped at all: this check looks in the wrong place"
    foreign = [p for p in hdf5_libs if not p.startswith(h5py_root + os.sep)]
    assert not foreign, f"HDF5 libraries from outside the wheel ({h5py_root}) are mapped: {foreign}"


def test_loading_the_plugin_keeps_hdf5s_errors(tmp_path):
    """Guards: loading the plugin must leave HDF5's error stack alone. HDF5 1.14 and later load every library in
    HDF5_PLUGIN_PATH in the middle of a failing H5Fopen (looking for a VOL connector that could open the file); a
    plugin whose entry points call an API function that clears the stack then wipes the errno entries h5py reads,
    so h5py.File(NEW, "a") raises OSError "open failed" instead of creating the file, and opening a missing file
    raises a plain OSError instead of FileNotFoundError. Only the first load in a process does it: a fresh child."""
    code = (
        "import sys, h5py\n"
        "try:\n"
        "    h5py.File(sys.argv[1] + '/missing.h5', 'r')\n"
        "except FileNotFoundError:\n"
        "    print('missing: FileNotFoundError')\n"
        "except OSError as e:\n"
        "    print('missing: plain OSError: %s' % e)\n"
        "try:\n"
        "    h5py.File(sys.argv[1] + '/new.h5', 'a').close()\n"
        "    print('append: created')\n"
        "except OSError as e:\n"
        "    print('append: OSError: %s' % e)\n")
    plugin_path()
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["missing: FileNotFoundError", "append: created"], \
        f"the plugin's first load changed how HDF5 {HDF5_VERSION} reports a failed open:\n{done.stdout}"
    assert (tmp_path / "new.h5").exists()


# ----------------------------------------------------------------------------- reads of the repacked samples


def test_repacked_samples_equal_opencv_46(sample_frames):
    """Guards: every frame of both repacked samples reads back through the wheel's HDF5 bit-identical to Debian's
    OpenCV 4.6 on the legacy bytes (the rule and channel order the dataset's cd_values say)."""
    per_sample = {}
    for sample, path, rule, _, _, got, want in sample_frames:
        assert got.dtype == want.dtype and got.shape == want.shape, \
            f"{sample}:{path}: read {got.dtype}{got.shape}, OpenCV 4.6 gives {want.dtype}{want.shape}"
        diff = int(np.count_nonzero(got != want))
        assert diff == 0, f"{sample}:{path} (rule {RULES[rule]}): {diff} samples differ from OpenCV 4.6"
        per_sample[sample] = per_sample.get(sample, 0) + 1
    # 19 frames in renderme (9 JPEG, 10 PNG) and the dna sample's frames minus its corrupt one.
    assert per_sample.get("renderme_sample.smc", 0) >= 19 and per_sample.get("dna_sample.smc", 0) >= 15, per_sample


def test_venv_opencv_decodes_as_opencv_46(sample_frames):
    """Guards the premise of the write tests: the venv's OpenCV decodes every sample frame (JPEG and PNG, every rule
    the samples use) exactly as Debian's OpenCV 4.6, the filter's definition, does. If a newer opencv-python-headless
    stops doing so, this names the frames and the largest difference."""
    differ = []
    for sample, path, rule, _, chunk, _, want in sample_frames:
        got = venv_cv2_decode(chunk, rule)
        if got.shape != want.shape or got.dtype != want.dtype:
            differ.append(f"{sample}:{path}: {got.dtype}{got.shape} vs {want.dtype}{want.shape}")
        elif not np.array_equal(got, want):
            differ.append(f"{sample}:{path} (rule {RULES[rule]}): {int(np.count_nonzero(got != want))} samples differ, "
                          f"max abs diff {int(np.abs(got.astype(int) - want.astype(int)).max())}")
    assert not differ, f"OpenCV {cv2.__version__} (venv) is not OpenCV 4.6 on:\n" + "\n".join(differ)


def test_repacked_corrupt_sample_frame_stays_raw(manifest):
    """Guards: the samples' one corrupt frame (a JPEG cut inside its header) was not turned into a filtered dataset,
    and its bytes read back through the wheel as they are: an input that must not decode."""
    entry = manifest["samples"]["dna_sample.smc"]
    assert "Camera_5mp/01/color/2" not in {f["path"] for f in entry["frames"]}
    with h5py.File(entry["file"], "r") as f:
        dset = f["Camera_5mp/01/color/2"]
        assert dset.ndim == 1 and dset.dtype == np.uint8 and dset.size == 100
        raw = dset[()].tobytes()
    assert raw.startswith(JPEG_SOI)
    assert cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR) is None


# ----------------------------------------------------------------------------- writes through the filter


def write_and_stored(path, data, **kwargs):
    with h5py.File(path, "w") as f:
        f.create_dataset("img", data=data, chunks=data.shape, compression=FILTER, **kwargs)
    with h5py.File(path, "r") as f:
        dset = f["img"]
        mask, chunk = dset.id.read_direct_chunk((0,) * dset.ndim)
        # h5py adds the filter as optional: a failed encode would store raw pixels silently.
        assert mask == 0, f"the filter was skipped on write (mask {mask:#x})"
        return dset[()], bytes(chunk), filter_cd(dset)


def sample_images(sample_frames):
    """A real mask (H, W) and a real colour frame (H, W, 3), as the samples decode."""
    mask = next(want for _, _, rule, _, _, _, want in sample_frames if rule == 3 and want.ndim == 2)
    color = next(want for _, _, rule, _, _, _, want in sample_frames
                 if want.ndim == 3 and want.shape[2] == 3 and want.dtype == np.uint8)
    return {"mask": mask, "color": color}


def test_write_png_default_is_lossless(sample_frames, h5file):
    """Guards: compression=49301 without options stores PNG through the wheel's HDF5 and reads back identical."""
    for name, img in sample_images(sample_frames).items():
        back, chunk, cd = write_and_stored(h5file, img)
        assert chunk.startswith(PNG_SIGNATURE), name
        channels = img.shape[2] if img.ndim == 3 else 1
        assert cd == (1, 3 if channels == 1 else 2, 0, 0, 0, img.shape[0], img.shape[1], channels, 1), (name, cd)
        assert back.dtype == img.dtype and np.array_equal(back, img), name


def test_write_jpeg_q90_reads_as_cv2_imdecode(sample_frames, h5file):
    """Guards: compression_opts=(1, 0, 0, 1, 90) stores a quality-90 JPEG; reading it back gives cv2.imdecode of
    that stored chunk (RGB order for colour; the mask rule, max over IMREAD_COLOR, for (H, W))."""
    for name, img in sample_images(sample_frames).items():
        back, chunk, cd = write_and_stored(h5file, img, compression_opts=(1, 0, 0, 1, 90))
        assert chunk.startswith(JPEG_SOI), name
        assert cd == (1, 3 if img.ndim == 2 else 2, 0, 1, 90) + cd[5:], (name, cd)
        want = venv_cv2_decode(chunk, cd[1])
        if img.ndim == 3:
            bgr = cv2.imdecode(np.frombuffer(chunk, np.uint8), cv2.IMREAD_COLOR)
            assert np.array_equal(want, bgr[:, :, ::-1]), "the oracle is not cv2.imdecode in RGB order"
        assert back.shape == img.shape and back.dtype == np.uint8, name
        diff = int(np.count_nonzero(back != want))
        assert diff == 0, f"{name}: {diff} samples differ from cv2.imdecode of the stored JPEG"
        assert np.abs(back.astype(int) - img).mean() < 4, f"{name}: the quality-90 JPEG is far from its input"


# ----------------------------------------------------------------------------- failures


def idat_span(png):
    """(offset of the first IDAT's data, its length)."""
    pos = 8
    while pos + 12 <= len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        if png[pos + 4:pos + 8] == b"IDAT":
            return pos + 8, length
        pos += 12 + length
    raise AssertionError("no IDAT chunk")


def flip(data, offset, bits=0x55):
    out = bytearray(data)
    out[offset] ^= bits
    return bytes(out)


def png_fix_crcs(png):
    out, pos = bytearray(png), 8
    while pos + 12 <= len(out):
        (length,) = struct.unpack(">I", out[pos:pos + 4])
        out[pos + 8 + length:pos + 12 + length] = struct.pack(">I", zlib.crc32(bytes(out[pos + 4:pos + 8 + length])))
        pos += 12 + length
    return bytes(out)


# What h5py's OSError says for any failed read under HDF5 1.14.6 and 2.0.0 (observed): HDF5's own sentence only,
# since the filter's error stack is paused around the decode.
READ_FAILURE = "Can't synchronously read data (filter returned failure during read)"


def test_corrupt_chunk_raises_and_names_its_cause(sample_frames, h5file):
    """Guards: a PNG chunk with a flipped IDAT byte (CRC left stale, and CRC repaired so the inflater meets the
    damage) or with only its IDAT CRC wrong raises OSError, never pixels; the plugin's h5img_last_error(), read from
    the copy HDF5 loaded, names the cause. Under 1.14 and later h5py's OSError carries only HDF5's own sentence."""
    img = sample_images(sample_frames)["mask"]
    _, png, _ = write_and_stored(h5file, img)
    start, length = idat_span(png)
    cases = {  # libspng meets the damage in the data before the chunk's stale CRC
        "IDAT byte flipped, CRC stale": (flip(png, start + length // 2), "PNG image data"),
        "IDAT byte flipped, CRC repaired": (png_fix_crcs(flip(png, start + length // 2)), "PNG image data"),
        "IDAT CRC wrong, data intact": (flip(png, start + length, 0x01), "invalid chunk checksum"),
    }
    for what, (bad, words) in cases.items():
        assert cv2.imdecode(np.frombuffer(bad, np.uint8), cv2.IMREAD_UNCHANGED) is None, f"{what}: OpenCV decodes it"
        with h5py.File(h5file, "w") as f:
            d = f.create_dataset("img", shape=img.shape, dtype=np.uint8, chunks=img.shape, compression=FILTER)
            d.id.write_direct_chunk((0, 0), bad)
        with h5py.File(h5file, "r") as f:
            with pytest.raises(OSError) as caught:
                f["img"][()]
            cause = last_error()
        text = str(caught.value)
        assert cause.startswith("cannot decode h5img chunk: PNG"), f"{what}: h5img_last_error() is {cause!r}"
        assert words in cause, f"{what}: h5img_last_error() does not say {words!r}: {cause!r}"
        if STACK_PAUSED:
            assert text == READ_FAILURE, f"{what}: HDF5 {HDF5_VERSION}'s OSError changed: {text!r}"
        else:
            assert cause in text, f"{what}: the filter's message is not in the OSError: {text!r}"


def test_set_local_refusals_name_their_reason(h5file):
    """Guards: datasets the filter cannot hold (int32 samples, a 2-channel chunk, JPEG for uint16) are refused at
    creation through the wheel's HDF5, and the error h5py raises carries the plugin's reason."""
    cases = {  # can_apply's refusals (type, shape), then one of set_local's (the writer's options)
        "int32": (dict(data=np.zeros((30, 40), np.int32), chunks=(30, 40)), "32-bit signed integer"),
        "(H, W, 2)": (dict(data=np.zeros((30, 40, 2), np.uint8), chunks=(30, 40, 2)), "is not one image"),
        "uint16 as JPEG": (dict(data=np.zeros((30, 40), np.uint16), chunks=(30, 40), compression_opts=(0, 0, 0, 1)),
                           "JPEG"),
    }
    with h5py.File(h5file, "w") as f:
        for i, (what, (kwargs, reason)) in enumerate(cases.items()):
            with pytest.raises((ValueError, OSError)) as caught:
                f.create_dataset(f"bad{i}", compression=FILTER, **kwargs)
            text, cause = str(caught.value), last_error()
            assert reason in cause, f"{what}: h5img_last_error() is {cause!r}"
            # Observed under 1.14.6 and 2.0.0: can_apply and set_local run outside the paused stretch, so h5py's
            # error is HDF5's sentence with the plugin's message as its cause.
            assert text == f"Unable to synchronously create dataset ({cause})", f"{what}: {text!r}"
            assert f"bad{i}" not in f, f"{what}: the dataset was created anyway"


# ----------------------------------------------------------------------------- the whole check, seen from outside

DIAG = re.compile(r"HDF5-DIAG: Error detected in HDF5 \(([0-9.]+)\)")


def test_no_diagnostics_from_another_hdf5():
    """Guards: the whole module run again in a child prints no HDF5-DIAG from another HDF5 (Debian's 1.10 would print
    one if the plugin called into it: h5py silences only its own library) and no plugin load failure."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", os.path.abspath(__file__),
                           "-k", "not test_no_diagnostics_from_another_hdf5"],
                          capture_output=True, text=True, timeout=600, cwd=tempfile.gettempdir())
    assert done.returncode == 0, f"the child run failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert " passed" in done.stdout and " failed" not in done.stdout, done.stdout[-2000:]
    wheel = ".".join(map(str, HDF5_VERSION))
    foreign = [v for v in DIAG.findall(done.stderr) if v != wheel]
    assert not foreign, f"diagnostics from HDF5 {sorted(set(foreign))} in the child's stderr:\n{done.stderr[-4000:]}"
    for text in ("HDF5 (1.10", "libhdf5_serial", "h5img: plugin not loaded"):
        assert text not in done.stderr, f"{text!r} in the child's stderr:\n{done.stderr[-4000:]}"
