#!/usr/bin/python3
"""test_dump.py: h5imgdump summary and --extract on legacy and repacked files, with h5py + OpenCV as the oracle."""
import errno
import glob
import json
import os
import resource
import shutil
import subprocess
import tempfile
import unittest

import cv2
import h5py
import numpy as np
import skimage.data

DUMP = os.environ.get("H5IMGDUMP", "")
REPACK = os.environ.get("H5IMGREPACK", "")
SAMPLES = os.environ.get("H5IMG_SAMPLES", "")
FILTER_ID = 49301
RULE_NATIVE, RULE_MASK = 1, 3
FLAG_BGR = 0x1
FRAMES = 12
SIZE = (96, 80)  # (W, H)
DEPTH_SIZE = (64, 48)


def photo(name, size=SIZE):
    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=2)
    return cv2.resize(np.ascontiguousarray(image[:, :, :3]), size, interpolation=cv2.INTER_AREA)


def encode(ext, image, params=()):
    ok, data = cv2.imencode(ext, image, list(params))
    assert ok
    return np.frombuffer(data.tobytes(), dtype=np.uint8)


def shifted(image, i):
    return np.roll(image, (i, 2 * i), axis=(0, 1))


def make_legacy(path):
    """A small SMC-like file: two cameras of JPEG colour and PNG masks, a 16-bit PNG, other datasets."""
    with h5py.File(path, "w") as f:
        f.attrs.update(actor_id="0026", age=24, resolution=np.array([SIZE[1], SIZE[0]], dtype=np.int64))
        f.attrs["note"] = 'quote " and \\ backslash\n'
        for cam, source in (("00", "astronaut"), ("01", "coffee")):
            base = photo(source)
            for i in range(FRAMES):
                bgr = cv2.cvtColor(shifted(base, i), cv2.COLOR_RGB2BGR)
                f[f"Camera/{cam}/color/{i}"] = encode(".jpg", bgr, (cv2.IMWRITE_JPEG_QUALITY, 90))
                mask = cv2.GaussianBlur((cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) > 110).astype(np.uint8) * 255, (5, 5), 1)
                f[f"Camera/{cam}/mask/{i}"] = encode(".png", mask)
            f[f"Calibration/{cam}/K"] = np.eye(3)
        depth = cv2.cvtColor(photo("camera", DEPTH_SIZE), cv2.COLOR_RGB2GRAY).astype(np.uint16) * 200 + 7
        f["Depth/0"] = encode(".png", depth)
        f["Scan/vertex"] = np.zeros((10, 3), np.float32)


def make_odd(path):
    """Frames that must fail in some formats: a truncated JPEG, an RGBA PNG."""
    with h5py.File(path, "w") as f:
        bgr = cv2.cvtColor(photo("astronaut"), cv2.COLOR_RGB2BGR)
        good = encode(".jpg", bgr)
        f["Camera/00/color/0"] = good
        f["Camera/00/color/1"] = good[: len(good) // 2]
        f["Camera/00/color/2"] = good
        rgba = np.dstack([bgr, np.full(bgr.shape[:2], 200, np.uint8)])
        f["Texture/0"] = encode(".png", rgba)


def legacy_frames(path):
    """{path: stored bytes} of every legacy image dataset."""
    frames = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and obj.dtype == np.uint8 and obj.size >= 8:
            data = obj[()].tobytes()
            if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff":
                frames[name] = data

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return frames


def is_mask(path):
    return any("mask" in part.lower() for part in path.split("/"))


def oracle(path, data, bgr=True):
    """What the filter's rules give for these bytes: masks = max over IMREAD_COLOR, else IMREAD_UNCHANGED,
    in BGR(A) order as OpenCV returns it or, with bgr=False, RGB(A)."""
    buf = np.frombuffer(data, np.uint8)
    if is_mask(path):
        return np.max(cv2.imdecode(buf, cv2.IMREAD_COLOR), axis=2)
    image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if image.ndim == 3 and not bgr:
        image = np.concatenate([image[:, :, 2::-1], image[:, :, 3:]], axis=2)
    return image


def repack_in_python(src, dst):
    """Repacked layout by hand: one chunk holding the original bytes, written with direct chunk write."""
    avail = h5py.h5z.filter_avail(FILTER_ID)
    flag = h5py.h5z.FLAG_MANDATORY if avail else h5py.h5z.FLAG_OPTIONAL
    frames = legacy_frames(src)
    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        for key, value in fin.attrs.items():
            fout.attrs[key] = value
        for name in ("Calibration", "Scan"):
            fin.copy(name, fout)
        for path, data in frames.items():
            image = oracle(path, data)
            mask = is_mask(path)
            channels = 1 if image.ndim == 2 else image.shape[2]
            elem = image.dtype.itemsize
            cd = (1, RULE_MASK if mask else RULE_NATIVE, FLAG_BGR if channels >= 3 else 0,
                  1 if data[:2] == b"\xff\xd8" else 0, 0, image.shape[0], image.shape[1], channels, elem)
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_chunk(image.shape)
            dcpl.set_filter(FILTER_ID, flag, cd)
            group = fout.require_group(os.path.dirname(path))
            mtype = h5py.h5t.NATIVE_UINT16 if elem == 2 else h5py.h5t.NATIVE_UINT8
            space = h5py.h5s.create_simple(image.shape)
            dsid = h5py.h5d.create(group.id, os.path.basename(path).encode(), mtype, space, dcpl=dcpl)
            dsid.write_direct_chunk((0,) * image.ndim, data, filter_mask=0)


def run(*args):
    return subprocess.run([DUMP, *args], capture_output=True, text=True, timeout=300)


def padded(path, ext):
    head, last = os.path.split(path)
    if last.isdigit():
        last = last.zfill(6)
    return os.path.join(head, last) + ext


@unittest.skipUnless(DUMP and os.access(DUMP, os.X_OK), "H5IMGDUMP not set")
class DumpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        base = os.environ.get("H5IMG_TEST_TMP") or tempfile.gettempdir()
        os.makedirs(base, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="test_dump-", dir=base)
        cls.legacy = os.path.join(cls.tmp, "legacy.smc")
        cls.repacked = os.path.join(cls.tmp, "repacked.h5")
        cls.odd = os.path.join(cls.tmp, "odd.smc")
        make_legacy(cls.legacy)
        make_odd(cls.odd)
        repack_in_python(cls.legacy, cls.repacked)
        cls.tool_repacked = cls.repack_with_tool(cls.legacy, os.path.join(cls.tmp, "tool_repacked.h5"))
        cls.frames = legacy_frames(cls.legacy)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def repack_with_tool(cls, src, dst):
        """The same file through h5imgrepack when it is built; its flag defaults are its own, so only
        layout-independent checks (stored bytes, summary) use it."""
        if REPACK and os.access(REPACK, os.X_OK):
            done = subprocess.run([REPACK, src, dst], capture_output=True, text=True, timeout=300)
            if done.returncode == 0 and os.path.exists(dst):
                return dst
        return None

    def outdir(self, name):
        path = os.path.join(self.tmp, name)
        shutil.rmtree(path, ignore_errors=True)
        return path

    def extract(self, src, out, *args, expect=0):
        done = run("--extract", out, *args, src)
        self.assertEqual(done.returncode, expect, done.stderr)
        return done

    def written(self, out):
        return sorted(os.path.relpath(p, out) for p in glob.glob(os.path.join(out, "**", "*"), recursive=True)
                      if os.path.isfile(p))

    # ---- summary ----

    def check_summary_text(self, path, repacked):
        done = run(path)
        self.assertEqual(done.returncode, 0, done.stderr)
        out = done.stdout
        for cam in ("00", "01"):
            self.assertIn(f"Camera/{cam}/color: {FRAMES} frames, JPEG {SIZE[0]}x{SIZE[1]}x3", out)
            self.assertIn(f"Camera/{cam}/mask: {FRAMES} frames, PNG {SIZE[0]}x{SIZE[1]}x1", out)
        self.assertIn("Depth: 1 frame, PNG", out)
        self.assertIn("uint16", out)
        self.assertIn("Calibration/*/K: 2 datasets, float64 (3, 3)", out)
        self.assertIn("actor_id", out)
        self.assertEqual("repacked" in out, repacked)

    def test_summary_legacy(self):
        self.check_summary_text(self.legacy, False)

    def test_summary_repacked(self):
        self.check_summary_text(self.repacked, True)

    def check_json(self, path, storage):
        done = run("--json", path)
        self.assertEqual(done.returncode, 0, done.stderr)
        summary = json.loads(done.stdout)
        self.assertEqual(summary["attributes"]["actor_id"], "0026")
        self.assertEqual(summary["attributes"]["note"], 'quote " and \\ backslash\n')
        self.assertEqual(summary["attributes"]["resolution"], [SIZE[1], SIZE[0]])
        groups = {g["path"]: g for g in summary["image_groups"]}
        expected = {}
        for path, data in self.frames.items():
            group = expected.setdefault(os.path.dirname(path), {"frames": 0, "bytes": 0})
            group["frames"] += 1
            group["bytes"] += len(data)
        self.assertEqual(set(groups), set(expected))
        for name, want in expected.items():
            got = groups[name]
            self.assertEqual(got["frames"], want["frames"], name)
            self.assertEqual(got["stored_bytes"], want["bytes"], name)
            self.assertEqual(got["storage"], storage)
            self.assertEqual(got["unreadable"], 0)
            codec = "JPEG" if "color" in name else "PNG"
            self.assertEqual(got["codecs"], {codec: want["frames"]}, name)
            self.assertEqual((got["width"], got["height"]), (SIZE[0], SIZE[1]) if "Camera" in name else DEPTH_SIZE)
        self.assertEqual(groups["Depth"]["dtype"], "uint16")
        others = {d["path"]: d for d in summary["datasets"]}
        self.assertEqual(others["Calibration/*/K"]["count"], 2)
        self.assertEqual(others["Scan/vertex"]["shape"], [10, 3])
        self.assertEqual(others["Scan/vertex"]["dtype"], "float32")

    def test_json_legacy(self):
        self.check_json(self.legacy, "legacy")

    def test_json_repacked(self):
        self.check_json(self.repacked, "repacked")

    # ---- extraction ----

    def check_keep(self, src):
        out = self.outdir("keep")
        self.extract(src, out)
        expected = sorted(padded(p, ".jpg" if d[:2] == b"\xff\xd8" else ".png") for p, d in self.frames.items())
        self.assertEqual(self.written(out), expected)
        for path, data in self.frames.items():
            with open(os.path.join(out, padded(path, ".jpg" if data[:2] == b"\xff\xd8" else ".png")), "rb") as f:
                self.assertEqual(f.read(), data, path)

    def test_keep_legacy_byte_identical(self):
        self.check_keep(self.legacy)

    def test_keep_repacked_byte_identical(self):
        self.check_keep(self.repacked)

    def test_h5imgrepack_output(self):
        if not self.tool_repacked:
            self.skipTest("h5imgrepack not available or failed")
        self.check_keep(self.tool_repacked)
        self.check_json(self.tool_repacked, "repacked")
        # Extracting before or after a default repack gives the same arrays.
        before, after = self.outdir("before"), self.outdir("after")
        self.extract(self.legacy, before, "-f", "npy")
        self.extract(self.tool_repacked, after, "-f", "npy")
        self.assertEqual(self.written(before), self.written(after))
        for name in self.written(before):
            self.assertTrue(np.array_equal(np.load(os.path.join(before, name)), np.load(os.path.join(after, name))), name)

    def check_decoded(self, src, fmt, ext_of, load, *args, bgr=True):
        out = self.outdir(fmt)
        self.extract(src, out, "--format", fmt, *args)
        for path, data in self.frames.items():
            want = oracle(path, data, bgr)
            got = load(os.path.join(out, padded(path, ext_of(want))))
            self.assertEqual(got.dtype, want.dtype, path)
            self.assertEqual(got.shape, want.shape, path)
            self.assertTrue(np.array_equal(got, want), path)
        return out

    def test_npy_legacy(self):
        # RGB by default, like a default h5imgrepack; --bgr gives OpenCV's order.
        self.check_decoded(self.legacy, "npy", lambda a: ".npy", np.load, bgr=False)
        self.check_decoded(self.legacy, "npy", lambda a: ".npy", np.load, "--bgr")

    def test_npy_repacked(self):
        # This file's colour datasets carry H5IMG_FLAG_BGR: the array is what h5py would return.
        out = self.check_decoded(self.repacked, "npy", lambda a: ".npy", np.load)
        if not h5py.h5z.filter_avail(FILTER_ID):
            return
        with h5py.File(self.repacked, "r") as f:  # through the plugin, when HDF5_PLUGIN_PATH finds it
            for path in self.frames:
                self.assertTrue(np.array_equal(f[path][()], np.load(os.path.join(out, padded(path, ".npy")))), path)

    def test_png_legacy(self):
        self.check_decoded(self.legacy, "png", lambda a: ".png", lambda p: cv2.imread(p, cv2.IMREAD_UNCHANGED))

    def test_png_repacked(self):
        self.check_decoded(self.repacked, "png", lambda a: ".png", lambda p: cv2.imread(p, cv2.IMREAD_UNCHANGED))

    def test_pgm_ppm(self):
        ext = lambda a: ".pgm" if a.ndim == 2 else ".ppm"
        self.check_decoded(self.legacy, "pgm-ppm", ext, lambda p: cv2.imread(p, cv2.IMREAD_UNCHANGED))

    def test_npy_header_is_v1(self):
        out = self.check_decoded(self.legacy, "npy", lambda a: ".npy", np.load, bgr=False)
        with open(os.path.join(out, "Depth", "000000.npy"), "rb") as f:
            head = f.read(128)
        self.assertEqual(head[:8], b"\x93NUMPY\x01\x00")
        self.assertIn(b"'descr': '<u2'", head)
        self.assertEqual((10 + int.from_bytes(head[8:10], "little")) % 64, 0)

    def test_jobs_give_identical_outputs(self):
        for fmt in ("npy", "png"):
            a, b = self.outdir(f"j1-{fmt}"), self.outdir(f"j2-{fmt}")
            self.extract(self.repacked, a, "-f", fmt, "-j", "1")
            self.extract(self.repacked, b, "-f", fmt, "-j", "2")
            self.assertEqual(self.written(a), self.written(b))
            for name in self.written(a):
                with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
                    self.assertEqual(fa.read(), fb.read(), name)

    def test_select(self):
        out = self.outdir("select")
        self.extract(self.legacy, out, "--select", "Camera/01/mask/*", "--select", "/Camera/00/color/1?")
        want = [f"Camera/01/mask/{i:06d}.png" for i in range(FRAMES)] + [f"Camera/00/color/{i:06d}.jpg" for i in (10, 11)]
        self.assertEqual(self.written(out), sorted(want))
        done = run("--extract", self.outdir("none"), "--select", "Nothing/*", self.legacy)
        self.assertEqual(done.returncode, 1)
        self.assertIn("h5imgdump: error:", done.stderr)

    def test_select_matches_every_hard_link_name(self):
        """A dataset reachable by two hard links is selected by either name, and written once, under the name that
        matched; without --select it is written once, under its first name."""
        src = os.path.join(self.tmp, "hard-links.smc")
        with h5py.File(src, "w") as f:
            f["Camera/00/color/0"] = np.frombuffer(self.frames["Camera/00/color/0"], np.uint8)
            f["Alias/frame/0"] = f["Camera/00/color/0"]  # sorts first: the walk meets this name first
        for pattern, want in (("Camera/00/color/0", "Camera/00/color/000000.jpg"),
                              ("Alias/**", "Alias/frame/000000.jpg"),
                              ("Camera/**", "Camera/00/color/000000.jpg")):
            out = self.outdir("hard-links")
            self.extract(src, out, "--select", pattern)
            self.assertEqual(self.written(out), [want], pattern)
        out = self.outdir("hard-links")
        self.extract(src, out, "--select", "Camera/**", "--select", "Alias/**")
        self.assertEqual(self.written(out), ["Alias/frame/000000.jpg"])
        out = self.outdir("hard-links")
        self.extract(src, out)
        self.assertEqual(self.written(out), ["Alias/frame/000000.jpg"])

    def test_corrupt_frame_reported_others_extracted(self):
        out = self.outdir("corrupt")
        done = self.extract(self.odd, out, "--format", "npy", "-j", "2", expect=2)
        self.assertIn("Camera/00/color/1", done.stderr)
        self.assertIn("h5imgdump: error:", done.stderr)
        self.assertEqual(self.written(out), ["Camera/00/color/000000.npy", "Camera/00/color/000002.npy",
                                             "Texture/000000.npy"])
        self.assertEqual(np.load(os.path.join(out, "Texture/000000.npy")).shape, (SIZE[1], SIZE[0], 4))

    def test_four_channels_refused_as_ppm(self):
        out = self.outdir("rgba")
        done = self.extract(self.odd, out, "--format", "pgm-ppm", "--select", "Texture/*", expect=2)
        self.assertIn("Texture/0", done.stderr)
        self.assertIn("alpha", done.stderr)
        self.assertEqual(self.written(out), [])

    def test_sample_corrupt_frame(self):
        sample = os.path.join(SAMPLES, "dna_sample.smc")
        if not os.path.exists(sample):
            self.skipTest("no dna_sample.smc")
        out = self.outdir("dna")
        done = self.extract(sample, out, "--format", "npy", expect=2)
        self.assertIn("Camera_5mp/01/color/2", done.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "Camera_5mp/01/color/000001.npy")))
        self.assertFalse(os.path.exists(os.path.join(out, "Camera_5mp/01/color/000002.npy")))

    def test_existing_files_replaced_atomically(self):
        out = self.outdir("replace")
        target = os.path.join(out, "Camera/00/color/000003.jpg")
        os.makedirs(os.path.dirname(target))
        with open(target, "wb") as f:
            f.write(b"stale")
        other_link = os.path.join(out, "stale-link")
        os.link(target, other_link)
        self.extract(self.legacy, out, "--select", "Camera/00/**")
        with open(target, "rb") as f:
            self.assertEqual(f.read(), self.frames["Camera/00/color/3"])
        with open(other_link, "rb") as f:  # the old inode was replaced by rename, not rewritten in place
            self.assertEqual(f.read(), b"stale")
        leftovers = [p for p in glob.glob(os.path.join(out, "**", ".*"), recursive=True)]
        self.assertEqual(leftovers, [])

    def test_unreadable_frame_fails_the_extraction(self):
        """A 1-D uint8 dataset HDF5 cannot read (here compressed with LZF, a filter the C library lacks) may be
        a frame: extracting reports it and exits 2 instead of leaving it out in silence, and the summary says
        it is unreadable."""
        src = os.path.join(self.tmp, "lzf.smc")
        jpeg = self.frames["Camera/00/color/0"]
        with h5py.File(src, "w") as f:
            f["Camera/00/color/0"] = np.frombuffer(jpeg, np.uint8)
            f.create_dataset("Camera/00/color/1", data=np.frombuffer(jpeg, np.uint8), compression="lzf")
        out = self.outdir("lzf")
        done = self.extract(src, out, expect=2)
        self.assertIn("h5imgdump: error: Camera/00/color/1: cannot read", done.stderr)
        self.assertEqual(self.written(out), ["Camera/00/color/000000.jpg"])
        summary = run(src)
        self.assertEqual(summary.returncode, 0, summary.stderr)
        self.assertIn("1 unreadable", summary.stdout)
        others = {d["path"]: d for d in json.loads(run("--json", src).stdout)["datasets"]}
        self.assertEqual(others["Camera/*/color/*"]["unreadable"], 1)

    def test_names_that_pad_alike_are_not_overwritten(self):
        """Frames 7, 07 and 007 of one group would all be written to 000007: the first in frame order keeps the
        name, the others are reported as failed (exit 2), whatever -j is."""
        src = os.path.join(self.tmp, "clash.smc")
        with h5py.File(src, "w") as f:
            for name in ("007", "7", "07", "8"):
                f[f"Camera/00/color/{name}"] = np.frombuffer(self.frames[f"Camera/00/color/{len(name)}"], np.uint8)
        for jobs in ("1", "3"):
            out = self.outdir(f"clash-{jobs}")
            done = self.extract(src, out, "--format", "npy", "-j", jobs, expect=2)
            for loser in ("07", "007"):
                self.assertIn(f"h5imgdump: error: Camera/00/color/{loser}: would be written to the same file as "
                              "Camera/00/color/7", done.stderr)
            self.assertIn("2 of 4 frame(s) failed", done.stderr)
            self.assertEqual(self.written(out), ["Camera/00/color/000007.npy", "Camera/00/color/000008.npy"])
            with h5py.File(src, "r") as f:
                want = cv2.cvtColor(cv2.imdecode(f["Camera/00/color/7"][()], cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            np.testing.assert_array_equal(np.load(os.path.join(out, "Camera/00/color/000007.npy")), want)

    def test_file_size_limit_fails_frames_without_leftovers(self):
        """Past `ulimit -f` writes fail with EFBIG: each such frame is reported, the run exits 2 and no temporary
        file is left (SIGXFSZ, whose default action kills the process, is ignored)."""
        out = self.outdir("fsize")

        def limit_file_size():
            resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))

        done = subprocess.run([DUMP, "--extract", out, "--format", "npy", self.legacy], capture_output=True,
                              text=True, timeout=300, preexec_fn=limit_file_size)
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn(os.strerror(errno.EFBIG), done.stderr)
        leftovers = [p for p in glob.glob(os.path.join(out, "**", ".*"), recursive=True)]
        self.assertEqual(leftovers, [])

    def test_frame_names_near_name_max(self):
        """A frame whose file name is 254 bytes (NAME_MAX is 255) is written: the temporary name beside it must fit
        NAME_MAX too, whatever the frame name's length."""
        src = os.path.join(self.tmp, "long-name.smc")
        name = "n" * 250
        with h5py.File(src, "w") as f:
            f[f"Camera/00/color/{name}"] = np.frombuffer(self.frames["Camera/00/color/0"], np.uint8)
        out = self.outdir("long-name")
        self.extract(src, out)
        self.assertEqual(self.written(out), [f"Camera/00/color/{name}.jpg"])
        with open(os.path.join(out, "Camera/00/color", name + ".jpg"), "rb") as f:
            self.assertEqual(f.read(), self.frames["Camera/00/color/0"])
        self.assertEqual(glob.glob(os.path.join(out, "**", ".*"), recursive=True), [])

    def test_long_paths_in_messages_are_not_cut(self):
        """A frame's message names its output path in full, however long (here over 600 bytes), and still ends with
        the reason: the reader's message buffers used to cut it at 256 bytes."""
        src = os.path.join(self.tmp, "too-long-name.smc")
        name = "m" * 253  # 253 + ".jpg" is over NAME_MAX
        with h5py.File(src, "w") as f:
            f[f"Camera/00/color/{name}"] = np.frombuffer(self.frames["Camera/00/color/0"], np.uint8)
        out = os.path.join(self.outdir("deep"), *(["d" * 100] * 5))
        done = self.extract(src, out, expect=2)
        target = os.path.join(out, "Camera/00/color", name + ".jpg")
        self.assertGreater(len(target), 600)
        self.assertIn(f"h5imgdump: error: Camera/00/color/{name}: cannot write {target}: "
                      f"{os.strerror(errno.ENAMETOOLONG)}\n", done.stderr)
        self.assertEqual(glob.glob(os.path.join(out, "**", ".*"), recursive=True), [])

    def test_output_paths_of_path_max_bytes_are_refused(self):
        """An output path of PATH_MAX bytes or more is refused with its length and the limit, before any system call
        or message uses it: that is what lets the reader's messages hold a whole path and a reason."""
        path_max = os.pathconf("/", "PC_PATH_MAX")
        src = os.path.join(self.tmp, "path-max.smc")
        name = "p" * 200
        with h5py.File(src, "w") as f:
            f[f"Camera/00/color/{name}"] = np.frombuffer(self.frames["Camera/00/color/0"], np.uint8)
        out = self.outdir("path-max")
        while len(out) < path_max - 200:
            out = os.path.join(out, "e" * 150)
        target = os.path.join(out, "Camera/00/color", name + ".jpg")
        self.assertLess(len(out), path_max)
        self.assertGreaterEqual(len(target), path_max)
        done = self.extract(src, out, expect=2)
        self.assertIn(f"h5imgdump: error: Camera/00/color/{name}: output path would be {len(target)} bytes, over the "
                      f"system's limit of {path_max - 1} (PATH_MAX)\n", done.stderr)
        self.assertEqual(self.written(out), [])

    def test_summary_of_a_file_without_images(self):
        src = os.path.join(self.tmp, "no-images.h5")
        with h5py.File(src, "w") as f:
            f["x"] = np.arange(3)
        done = run(src)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Image datasets: 0 frames in 0 groups", done.stdout)
        self.assertEqual(json.loads(run("--json", src).stdout)["image_groups"], [])

    # ---- command line ----

    def test_help_and_version(self):
        done = run("--help")
        self.assertEqual(done.returncode, 0)
        for section in ("SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES"):
            self.assertIn(section, done.stdout)
        done = run("--version")
        self.assertEqual(done.returncode, 0)
        self.assertIn("h5imgdump", done.stdout)

    def test_usage_errors(self):
        for args in ((), ("--bogus", self.legacy), ("--format", "npy", self.legacy), ("-x", "d", "-f", "gif", self.legacy),
                     (os.path.join(self.tmp, "missing.smc"),)):
            done = run(*args)
            self.assertEqual(done.returncode, 1, args)
            self.assertIn("h5imgdump: error:", done.stderr, args)

    def test_quiet_silences_warnings(self):
        """-q must silence warnings, as --help says, while errors still print."""
        src = os.path.join(self.tmp, "quiet-no-images.h5")
        with h5py.File(src, "w") as f:
            f["x"] = np.arange(3)
        out = self.outdir("quiet-out")
        loud = run("--extract", out, src)
        self.assertIn("h5imgdump: warning:", loud.stderr)
        quiet = run("-q", "--extract", out, src)
        self.assertEqual(quiet.returncode, loud.returncode)
        self.assertEqual(quiet.stderr, "")
        failed = run("-q", os.path.join(self.tmp, "quiet-missing.smc"))
        self.assertEqual(failed.returncode, 1)
        self.assertIn("h5imgdump: error:", failed.stderr)

    def test_summary_channel_count_varies_not_sizes(self):
        """Frames of one size but different stored channel counts must not be reported as "(sizes vary)"."""
        src = os.path.join(self.tmp, "channels-vary.smc")
        bgr = cv2.cvtColor(photo("astronaut"), cv2.COLOR_RGB2BGR)
        with h5py.File(src, "w") as f:
            f["Camera/00/color/0"] = encode(".png", bgr)
            f["Camera/00/color/1"] = encode(".png", cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
        done = run(src)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn("sizes vary", done.stdout)
        self.assertIn("channel count varies", done.stdout)

    def test_json_escapes_invalid_utf8(self):
        """--json must stay valid JSON when attribute values and link names hold bytes that are not UTF-8:
        each such byte becomes \\u00XX, valid UTF-8 passes through unchanged."""
        src = os.path.join(self.tmp, "not-utf8.smc")
        with h5py.File(src, "w") as f:
            f.attrs["raw"] = np.bytes_(b"a\xff\xfeb")
            f.attrs["fine"] = "caf\u00e9"
            f[b"Camera/cam\xff/color/0"] = encode(".png", cv2.cvtColor(photo("astronaut"), cv2.COLOR_RGB2BGR))
            f[b"odd\xc3"] = np.arange(3)
        done = subprocess.run([DUMP, "--json", src], capture_output=True, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr)
        summary = json.loads(done.stdout.decode("utf-8"))
        text = json.dumps(summary, ensure_ascii=False)
        self.assertIn("a\u00ff\u00feb", text)
        self.assertIn("caf\u00e9", text)
        self.assertIn("cam\u00ff", text)
        self.assertIn("odd\u00c3", text)

    def test_cannot_open_names_the_reason(self):
        """"cannot open FILE" must say why: the OS's reason for a missing file or a directory, HDF5's for a
        file that is not HDF5 (root bypasses permissions, so Permission denied is not tested here)."""
        missing = os.path.join(self.tmp, "open-missing.smc")
        text = os.path.join(self.tmp, "open-text.smc")
        with open(text, "w") as f:
            f.write("not hdf5\n")
        for path, reason in ((missing, os.strerror(errno.ENOENT)), (text, "not an HDF5 file"),
                             (self.tmp, os.strerror(errno.EISDIR))):
            for args in ((path,), ("--json", path), ("--extract", self.outdir("open-out"), path)):
                done = run(*args)
                self.assertEqual(done.returncode, 1, args)
                self.assertIn(f"h5imgdump: error: cannot open '{path}': {reason}", done.stderr, args)

    def test_unusable_extract_dir_is_one_error(self):
        """An --extract DIR that cannot be a directory (a regular file, or under one) must give ONE error naming
        DIR and the reason, exit 1, and nothing per frame; a missing parent is still created, as --help says."""
        regular = os.path.join(self.tmp, "extract-regular")
        with open(regular, "w") as f:
            f.write("x")
        for out in (regular, os.path.join(regular, "sub")):
            done = run("--extract", out, self.legacy)
            self.assertEqual(done.returncode, 1, done.stderr)
            lines = done.stderr.splitlines()
            self.assertEqual(len(lines), 1, done.stderr)
            self.assertIn("h5imgdump: error:", lines[0])
            self.assertIn(f"'{out}'", lines[0])
            self.assertIn(os.strerror(errno.ENOTDIR), lines[0])
        nested = os.path.join(self.outdir("extract-missing-parent"), "a", "b")
        self.extract(self.legacy, nested, "--select", "Depth/*")
        self.assertEqual(self.written(nested), ["Depth/000000.png"])


if __name__ == "__main__":
    unittest.main()
