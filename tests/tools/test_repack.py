#!/usr/bin/python3
"""test_repack.py: h5imgrepack end to end on the SMC samples, with h5py and cv2.imdecode as the oracle."""
import errno
import hashlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import cv2
import h5py
import numpy as np
import skimage.data

REPACK = os.environ.get("H5IMGREPACK", "h5imgrepack")
SAMPLES = os.environ.get("H5IMG_SAMPLES", os.path.join(os.path.dirname(__file__), "..", "..", "h5_samples"))
TMP_ROOT = os.environ.get("H5IMG_TEST_TMP") or tempfile.gettempdir()
FILTER_ID = 49301
SAMPLE_FILES = ("renderme_sample.smc", "dna_sample.smc")
# The sample's one corrupt frame (see h5_samples/README.md).
CORRUPT = ("dna_sample.smc", "/Camera_5mp/01/color/2")


def run(*args, check=None):
    result = subprocess.run([REPACK, *args], capture_output=True, text=True, timeout=300)
    if check is not None and result.returncode != check:
        raise AssertionError(f"h5imgrepack {' '.join(args)} exited {result.returncode}, wanted {check}\n"
                             f"stderr:\n{result.stderr}")
    return result


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def walk(group, prefix=""):
    """Every link below `group` as (path, kind, target): hard links give the object itself."""
    for name in group:
        path = f"{prefix}/{name}"
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.SoftLink):
            yield path, "soft", link.path
        elif isinstance(link, h5py.ExternalLink):
            yield path, "external", (link.filename, link.path)
        else:
            obj = group[name]
            yield path, "group" if isinstance(obj, h5py.Group) else "dataset", obj
            if isinstance(obj, h5py.Group):
                yield from walk(obj, path)


def is_frame(dataset):
    """A legacy frame: 1-D uint8 bytes with a PNG/JPEG signature that OpenCV decodes."""
    if dataset.ndim != 1 or dataset.dtype != np.uint8 or dataset.size == 0:
        return False
    raw = dataset[()]
    if not (raw[:8].tobytes() == b"\x89PNG\r\n\x1a\n" or raw[:3].tobytes() == b"\xff\xd8\xff"):
        return False
    return cv2.imdecode(raw, cv2.IMREAD_UNCHANGED) is not None


def oracle(path, raw):
    """What the documented rule returns: mask = max over IMREAD_COLOR; others IMREAD_UNCHANGED in RGB(A)."""
    if any("mask" in part.lower() for part in path.split("/")):
        return np.max(cv2.imdecode(raw, cv2.IMREAD_COLOR), axis=2)
    image = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    if image.ndim == 3:
        image = image[:, :, [2, 1, 0, 3][: image.shape[2]]]
    return image


def filters(dataset):
    plist = dataset.id.get_create_plist()
    return [plist.get_filter(i)[:3] for i in range(plist.get_nfilters())]


def layout(dataset):
    return dataset.id.get_create_plist().get_layout()


def attr_items(obj, skip=()):
    """Attributes as comparable tuples: name, dtype, shape and value."""
    items = []
    for name in obj.attrs:
        if name in skip:
            continue
        attr_id = obj.attrs.get_id(name)
        value = obj.attrs[name]
        if isinstance(value, h5py.Empty):
            value = ("empty", str(value.dtype))
        else:
            value = np.asarray(value).tolist()
        items.append((name, str(attr_id.dtype), attr_id.shape, value))
    return items


def assert_same_dataset(case, a, b, path):
    case.assertEqual(a.dtype, b.dtype, path)
    case.assertEqual(a.shape, b.shape, path)
    case.assertEqual(a.chunks, b.chunks, path)
    case.assertEqual(filters(a), filters(b), path)
    case.assertEqual(layout(a), layout(b), path)
    case.assertEqual(a.maxshape, b.maxshape, path)
    if a.shape is not None and a.size:
        va, vb = a[()], b[()]
        if va.dtype.kind == "O":  # variable length: the bytes are pointers
            case.assertEqual(va.tolist(), vb.tolist(), path)
        else:
            case.assertEqual(va.tobytes(), vb.tobytes(), path)


class Workspace(unittest.TestCase):
    def setUp(self):
        os.makedirs(TMP_ROOT, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="repack-", dir=TMP_ROOT)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def out(self, name):
        return os.path.join(self.tmp, name)

    def assert_no_temp_files(self):
        leftovers = [n for n in os.listdir(self.tmp) if ".tmp-" in n]
        self.assertEqual(leftovers, [])


class SampleRepack(Workspace):
    """Both samples: frames decode like the reference reader, the rest is untouched, --unpack is exact."""

    def repack(self, sample, *options):
        src = os.path.join(SAMPLES, sample)
        dst = self.out("packed-" + sample)
        result = run(*options, src, dst, check=0)
        return src, dst, result

    def test_frames_decode_like_the_reference_reader(self):
        for sample in SAMPLE_FILES:
            src, dst, _ = self.repack(sample)
            with h5py.File(src, "r") as old, h5py.File(dst, "r") as new:
                converted = 0
                for path, kind, obj in walk(old):
                    if kind != "dataset" or not is_frame(obj):
                        continue
                    raw = obj[()]
                    ds = new[path]
                    expected = oracle(path, raw)
                    self.assertEqual(ds.dtype, expected.dtype, path)
                    self.assertEqual(ds.shape, expected.shape, path)
                    self.assertTrue(np.array_equal(ds[()], expected), path)
                    # The chunk is the original bytes, untouched, with the filter in the pipeline.
                    chunk_mask, chunk = ds.id.read_direct_chunk((0,) * ds.ndim)
                    self.assertEqual(chunk_mask, 0, path)
                    self.assertEqual(chunk, raw.tobytes(), path)
                    self.assertIn(FILTER_ID, [f[0] for f in filters(ds)], path)
                    self.assertEqual(ds.attrs["CLASS"], b"IMAGE", path)
                    subclass = b"IMAGE_GRAYSCALE" if ds.ndim == 2 else b"IMAGE_TRUECOLOR"
                    self.assertEqual(ds.attrs["IMAGE_SUBCLASS"], subclass, path)
                    converted += 1
                self.assertGreater(converted, 15, sample)

    def test_cd_values_are_complete(self):
        _, dst, _ = self.repack("renderme_sample.smc")
        with h5py.File(dst, "r") as f:
            for path, expect in (("Camera/25/mask/0", (1, 3, 0, 0, 0, 134, 160, 1, 1)),
                                 ("Camera/25/color/0", (1, 1, 0, 1, 0, 134, 160, 3, 1))):
                cd = [flt for flt in filters(f[path]) if flt[0] == FILTER_ID][0][2]
                self.assertEqual(tuple(cd), expect, path)

    def test_sixteen_bit_png_stays_uint16(self):
        src, dst, _ = self.repack("dna_sample.smc")
        with h5py.File(src, "r") as old, h5py.File(dst, "r") as new:
            ds = new["Kinect/00/depth_png/0"]
            self.assertEqual(ds.dtype, np.uint16)
            self.assertTrue(np.array_equal(ds[()], old["Kinect/00/depth/0"][()]))

    def test_everything_else_is_unchanged(self):
        for sample in SAMPLE_FILES:
            src, dst, _ = self.repack(sample)
            with h5py.File(src, "r") as old, h5py.File(dst, "r") as new:
                self.assertEqual(attr_items(old), attr_items(new), sample + ":/")
                old_links = list(walk(old))
                self.assertEqual([p for p, _, _ in old_links], [p for p, _, _ in walk(new)], sample)
                for path, kind, obj in old_links:
                    if kind in ("soft", "external"):
                        self.assertEqual(new.get(path, getlink=True).path, obj if kind == "soft" else obj[1])
                        continue
                    added = ("CLASS", "IMAGE_VERSION", "IMAGE_SUBCLASS", "INTERLACE_MODE", "H5IMG_ORIGINAL")
                    frame = kind == "dataset" and is_frame(obj)
                    self.assertEqual(attr_items(obj), attr_items(new[path], added if frame else ()), path)
                    if kind == "dataset" and not frame:
                        assert_same_dataset(self, obj, new[path], f"{sample}:{path}")

    def test_hard_link_to_the_root_stays_a_link(self):
        """A link back to "/" is the root itself, not a second tree to copy (which would double every frame)."""
        src, dst = self.out("loop.h5"), self.out("loop.out.h5")
        with h5py.File(src, "w") as f:
            f["Camera/00/mask/0"] = np.frombuffer(cv2.imencode(".png", np.zeros((8, 8), np.uint8))[1].tobytes(),
                                                  np.uint8)
            f["loop"] = f["/"]
        result = run(src, dst, check=0)
        self.assertIn("1 frames converted", result.stderr)
        with h5py.File(dst, "r") as f:
            self.assertEqual(h5py.h5o.get_info(f["loop"].id).addr, h5py.h5o.get_info(f["/"].id).addr)

    def test_hard_link_stays_one_object(self):
        _, dst, _ = self.repack("renderme_sample.smc")
        with h5py.File(dst, "r") as f:
            a, b = f["Camera/00/color/0"], f["Camera/00/preview"]
            self.assertEqual(h5py.h5o.get_info(a.id).addr, h5py.h5o.get_info(b.id).addr)
            self.assertEqual(h5py.h5o.get_info(a.id).rc, 2)
            self.assertEqual(f.get("Calibration/reference", getlink=True).path, "/Calibration/00")

    def test_link_creation_order_is_kept(self):
        src, dst, _ = self.repack("renderme_sample.smc")
        with h5py.File(src, "r") as old, h5py.File(dst, "r") as new:
            order = h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED
            self.assertEqual(new["Camera"].id.get_create_plist().get_link_creation_order(), order)
            self.assertEqual(list(old["Camera/00"]), list(new["Camera/00"]))

    def test_unpack_restores_every_dataset_byte_for_byte(self):
        for sample in SAMPLE_FILES:
            src, dst, _ = self.repack(sample)
            back = self.out("unpacked-" + sample)
            run("--unpack", dst, back, check=0)
            with h5py.File(src, "r") as old, h5py.File(back, "r") as new:
                self.assertEqual(attr_items(old), attr_items(new), sample)
                old_links = list(walk(old))
                self.assertEqual([(p, k) for p, k, _ in old_links], [(p, k) for p, k, _ in walk(new)], sample)
                for path, kind, obj in old_links:
                    if kind in ("group", "dataset"):
                        self.assertEqual(attr_items(obj), attr_items(new[path]), f"{sample}:{path}")
                    if kind == "dataset":
                        assert_same_dataset(self, obj, new[path], f"{sample}:{path}")
                a, b = (new["Camera/00/color/0"], new["Camera/00/preview"]) if "renderme" in sample else (None, None)
                if a is not None:
                    self.assertEqual(h5py.h5o.get_info(a.id).addr, h5py.h5o.get_info(b.id).addr)

    def test_corrupt_frame_is_kept_raw_and_listed(self):
        sample, path = CORRUPT
        src, dst, result = self.repack(sample)
        self.assertIn(path, result.stderr)
        self.assertIn("kept", result.stderr)
        with h5py.File(src, "r") as old, h5py.File(dst, "r") as new:
            self.assertEqual(new[path].shape, old[path].shape)
            self.assertEqual(new[path][()].tobytes(), old[path][()].tobytes())
            self.assertNotIn("H5IMG_ORIGINAL", new[path].attrs)

    def test_strict_exits_2_and_still_writes(self):
        sample, path = CORRUPT
        dst = self.out("strict.smc")
        result = run("--strict", os.path.join(SAMPLES, sample), dst, check=2)
        self.assertIn(path, result.stderr)
        self.assertTrue(os.path.exists(dst))
        run("--strict", os.path.join(SAMPLES, "renderme_sample.smc"), self.out("clean.smc"), check=0)

    def test_bgr_and_rules(self):
        src = os.path.join(SAMPLES, "renderme_sample.smc")
        dst = self.out("rules.smc")
        run("--bgr", "--rule", "Camera/*/color/*=mask", "--rule", "UV_texture/**=keep", "-r", "**/mask/0=luma",
            src, dst, check=0)
        with h5py.File(src, "r") as old, h5py.File(dst, "r") as new:
            raw = old["Camera/25/color/1"][()]
            self.assertTrue(np.array_equal(new["Camera/25/color/1"][()],
                                           np.max(cv2.imdecode(raw, cv2.IMREAD_COLOR), axis=2)))
            raw = old["Camera/25/mask/0"][()]
            self.assertTrue(np.array_equal(new["Camera/25/mask/0"][()], cv2.imdecode(raw, cv2.IMREAD_GRAYSCALE)))
            self.assertEqual(new["UV_texture/0"].shape, old["UV_texture/0"].shape)
        dst = self.out("bgr.smc")
        run("--bgr", src, dst, check=0)
        with h5py.File(src, "r") as old, h5py.File(dst, "r") as new:
            raw = old["Camera/00/color/2"][()]
            self.assertTrue(np.array_equal(new["Camera/00/color/2"][()], cv2.imdecode(raw, cv2.IMREAD_COLOR)))


class VerifyAndEdgeCases(Workspace):
    """Frames whose header parses but whose data is broken; odd objects the samples do not hold."""

    def make_file(self):
        src = self.out("edge.h5")
        ramp = np.arange(96, dtype=np.uint8) * 2
        image = np.stack([np.tile(ramp, (64, 1)), np.tile(ramp[::-1], (64, 1)), np.full((64, 96), 90, np.uint8)], 2)
        good = np.frombuffer(cv2.imencode(".jpg", image)[1].tobytes(), np.uint8)
        with h5py.File(self.out("other.h5"), "w") as other:
            other["x"] = np.arange(4)
        with h5py.File(src, "w") as f:
            f["frames/good"] = good
            f["frames/cut_in_scan"] = good[: len(good) // 2]  # header intact, entropy data cut
            f["frames/bad_png"] = np.frombuffer(b"\x89PNG\r\n\x1a\n" + b"\0" * 40, np.uint8)
            f.create_dataset("frames/chunked_gzip", data=good, chunks=(1024,), maxshape=(None,), compression="gzip")
            f["frames/chunked_gzip"].attrs["CLASS"] = b"MINE"
            f["not_image"] = np.arange(50, dtype=np.uint8)
            f["external"] = h5py.ExternalLink("other.h5", "/x")
            f["dangling"] = h5py.SoftLink("/nowhere")
            f["strings"] = np.array([b"a", b"bc"], dtype="S2")
            f["vlen"] = np.array(["x", "yz"], dtype=h5py.string_dtype())
            f["vlen"].attrs["labels"] = np.array(["one", "two"], dtype=h5py.string_dtype())
        return src

    def test_verify_keeps_undecodable_frames_raw(self):
        src = self.make_file()
        plain, verified = self.out("plain.h5"), self.out("verified.h5")
        result = run(src, plain, check=0)
        self.assertIn("/frames/bad_png", result.stderr)
        with h5py.File(plain, "r") as f:
            self.assertEqual(f["frames/cut_in_scan"].ndim, 3)  # header parses: converted without --verify
            with self.assertRaises(OSError):  # and the read fails loudly, never silently
                f["frames/cut_in_scan"][()]
        result = run("--verify", src, verified, check=0)
        self.assertIn("/frames/cut_in_scan", result.stderr)
        with h5py.File(src, "r") as old, h5py.File(verified, "r") as new:
            self.assertEqual(new["frames/cut_in_scan"][()].tobytes(), old["frames/cut_in_scan"][()].tobytes())
            self.assertEqual(new["frames/good"].shape, (64, 96, 3))
        run("--verify", "--strict", src, self.out("strict.h5"), check=2)

    def test_odd_objects_survive_both_ways(self):
        src = self.make_file()
        packed, back = self.out("packed.h5"), self.out("back.h5")
        run(src, packed, check=0)
        run("-u", packed, back, check=0)
        with h5py.File(src, "r") as old, h5py.File(packed, "r") as f:
            mine = old["frames/chunked_gzip"].attrs["CLASS"]
            self.assertEqual(f["frames/chunked_gzip"].attrs["CLASS"], mine)  # never overwritten
            record = f["frames/chunked_gzip"].attrs["H5IMG_ORIGINAL"].decode()
            added = [t for t in record.split() if t.startswith("added=")][0][len("added="):].split(",")
            self.assertNotIn("CLASS", added)
            self.assertEqual(f.get("external", getlink=True).filename, "other.h5")
            self.assertEqual(f.get("dangling", getlink=True).path, "/nowhere")
        with h5py.File(src, "r") as old, h5py.File(back, "r") as new:
            for path in ("frames/good", "frames/chunked_gzip", "frames/cut_in_scan", "not_image", "strings", "vlen"):
                assert_same_dataset(self, old[path], new[path], path)
                self.assertEqual(attr_items(old[path]), attr_items(new[path]), path)
            self.assertEqual(new["external"][()].tolist(), [0, 1, 2, 3])

    def test_long_original_record_round_trips(self):
        """H5IMG_ORIGINAL must hold a record of any length (here 16 optional filters with 16 values each, past
        the old 2048-byte buffer) instead of silently cutting it, so --unpack restores every filter."""
        src, packed, back = self.out("long.h5"), self.out("long_packed.h5"), self.out("long_back.h5")
        image = (np.arange(64 * 48) % 251).astype(np.uint8).reshape(48, 64)
        data = np.frombuffer(cv2.imencode(".png", image)[1].tobytes(), np.uint8)
        with h5py.File(src, "w") as f:
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_chunk((len(data),))
            for i in range(16):  # not registered, so optional: HDF5 skips them but keeps them in the pipeline
                dcpl.set_filter(40000 + i, h5py.h5z.FLAG_OPTIONAL, tuple(range(4000000000, 4000000016)))
            group = f.create_group("Camera/00/mask")
            dsid = h5py.h5d.create(group.id, b"0", h5py.h5t.NATIVE_UINT8, h5py.h5s.create_simple((len(data),)),
                                   dcpl=dcpl)
            dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)
        run(src, packed, check=0)
        with h5py.File(packed, "r") as f:
            record = f["Camera/00/mask/0"].attrs["H5IMG_ORIGINAL"]
            record = record.decode() if isinstance(record, bytes) else record
            self.assertGreater(len(record), 2048)
            self.assertIn(" added=", record)
        run("--unpack", packed, back, check=0)
        with h5py.File(src, "r") as a, h5py.File(back, "r") as b:
            assert_same_dataset(self, a["Camera/00/mask/0"], b["Camera/00/mask/0"], "Camera/00/mask/0")

    def test_large_attribute_survives_unpack(self):
        """An attribute over 64 kB (which the oldest file format cannot hold in an object header) must
        round-trip through repack and --unpack with its value unchanged."""
        src, packed, back = self.out("bigattr.h5"), self.out("bigattr_packed.h5"), self.out("bigattr_back.h5")
        image = (np.arange(64 * 48) % 251).astype(np.uint8).reshape(48, 64)
        big = np.arange(100 * 1024, dtype=np.uint32).astype(np.uint8)
        with h5py.File(src, "w", libver=("v108", "latest")) as f:
            f["Camera/00/mask/0"] = np.frombuffer(cv2.imencode(".png", image)[1].tobytes(), np.uint8)
            f["Camera/00/mask/0"].attrs["big"] = big
            f.attrs["big_root"] = big
        run(src, packed, check=0)
        run("--unpack", packed, back, check=0)
        with h5py.File(back, "r") as f:
            self.assertEqual(f["Camera/00/mask/0"].attrs["big"].tobytes(), big.tobytes())
            self.assertEqual(f.attrs["big_root"].tobytes(), big.tobytes())


def kernel_copies(stderr):
    """(in the kernel, through memory) from the -v summary line."""
    match = re.search(r"(\d+) frames \([^)]*\) copied file to file in the kernel, (\d+) through memory", stderr)
    if match is None:
        raise AssertionError(f"no copy summary in:\n{stderr}")
    return int(match.group(1)), int(match.group(2))


def object_layout(path):
    """Every object's address, every dataset's chunk bytes and every attribute: equal means the same file
    apart from the modification times HDF5 stamps on groups."""
    with h5py.File(path, "r") as f:
        items = [("/", h5py.h5o.get_info(f.id).addr, attr_items(f))]
        for p, kind, obj in walk(f):
            if kind not in ("group", "dataset"):
                items.append((p, kind, obj))
                continue
            entry = [p, h5py.h5o.get_info(obj.id).addr, attr_items(obj)]
            if kind == "dataset" and obj.chunks is not None and FILTER_ID in [x[0] for x in filters(obj)]:
                entry.append(obj.id.read_direct_chunk((0,) * obj.ndim))
            elif kind == "dataset":
                entry.append(obj[()].tobytes() if obj.dtype.kind != "O" else obj[()].tolist())
            items.append(tuple(entry))
        return os.path.getsize(path), items


class KernelCopy(Workspace):
    """Contiguous frames go from IN to OUT inside the kernel, never through the tool's memory; the result is the
    same as reading them through HDF5."""

    def frames(self, count, seed=0):
        rng = np.random.default_rng(seed)
        out = []
        for i in range(count):
            image = cv2.resize(skimage.data.astronaut(), (96 + 8 * (i % 3), 64), interpolation=cv2.INTER_AREA)
            image = (image.astype(np.int16) + rng.integers(-3, 4, image.shape)).clip(0, 255).astype(np.uint8)
            ext = ".png" if i % 2 else ".jpg"
            out.append(np.frombuffer(cv2.imencode(ext, image)[1].tobytes(), np.uint8))
        return out

    def make_mixed(self, userblock=0):
        """Contiguous frames, chunked+gzip frames and chunked frames without filters, side by side."""
        src = self.out(f"mixed-ub{userblock}.h5")
        frames = self.frames(9)
        with h5py.File(src, "w", userblock_size=userblock) as f:
            for i, raw in enumerate(frames):
                if i % 3 == 0:
                    f[f"Camera/00/color/{i}"] = raw
                elif i % 3 == 1:
                    f.create_dataset(f"Camera/00/color/{i}", data=raw, chunks=(4096,), compression="gzip")
                else:
                    f.create_dataset(f"Camera/00/color/{i}", data=raw, chunks=(len(raw),))
            f["Camera/00/color/0"].attrs["note"] = b"kept"
            f["other"] = np.arange(300, dtype=np.float64)
        return src, frames

    def assert_chunks_are_the_bytes(self, src, dst):
        """Every frame of src is a filtered chunk of dst holding its bytes; returns the number of frames
        (objects, not paths: a hard link counts once)."""
        with h5py.File(src, "r") as old, h5py.File(dst, "r") as new:
            seen = set()
            for path, kind, obj in walk(old):
                if kind == "dataset" and is_frame(obj):
                    ds = new[path]
                    self.assertIn(FILTER_ID, [x[0] for x in filters(ds)], path)
                    self.assertEqual(ds.id.read_direct_chunk((0,) * ds.ndim)[1], obj[()].tobytes(), path)
                    seen.add(h5py.h5o.get_info(obj.id).addr)
            return len(seen)

    def test_sample_frames_are_copied_in_the_kernel(self):
        for sample in SAMPLE_FILES:
            src = os.path.join(SAMPLES, sample)
            dst = self.out("k-" + sample)
            result = run("-v", src, dst, check=0)
            converted = int(re.search(r"(\d+) frames converted", result.stderr).group(1))
            self.assertEqual(kernel_copies(result.stderr), (converted, 0), sample)
            self.assertEqual(self.assert_chunks_are_the_bytes(src, dst), converted, sample)

    def test_chunked_and_compressed_frames_are_read_through_hdf5(self):
        src, frames = self.make_mixed()
        dst, back = self.out("mixed.out.h5"), self.out("mixed.back.h5")
        result = run("-v", src, dst, check=0)
        self.assertEqual(kernel_copies(result.stderr), (3, 6))  # only the contiguous ones
        self.assertEqual(self.assert_chunks_are_the_bytes(src, dst), len(frames))
        run("--unpack", dst, back, check=0)
        with h5py.File(src, "r") as old, h5py.File(back, "r") as new:
            for path, kind, obj in walk(old):
                if kind == "dataset":
                    assert_same_dataset(self, obj, new[path], path)
                    self.assertEqual(attr_items(obj), attr_items(new[path]), path)

    def test_input_with_a_user_block(self):
        """H5Dget_offset counts the user block; a frame found at the wrong place would not decode or match."""
        src, frames = self.make_mixed(userblock=4096)
        dst = self.out("ub.out.h5")
        result = run("-v", src, dst, check=0)
        self.assertEqual(kernel_copies(result.stderr), (3, 6))
        self.assertEqual(self.assert_chunks_are_the_bytes(src, dst), len(frames))
        with h5py.File(src, "r") as old, h5py.File(dst, "r") as f:
            self.assertEqual(f.userblock_size, 4096)
            self.assertEqual(attr_items(f["Camera/00/color/0"], ("CLASS", "IMAGE_VERSION", "IMAGE_SUBCLASS",
                                                                  "INTERLACE_MODE", "H5IMG_ORIGINAL")),
                             attr_items(old["Camera/00/color/0"]))
            self.assertTrue(np.array_equal(f["Camera/00/color/0"][()],
                                           oracle("Camera/00/color/0", frames[0])))

    def test_user_block_bytes_survive_both_ways(self):
        """The user block is the application's: HDF5 reserves it in OUT but leaves it zeroed, so the tool must
        copy its bytes, on repack and on unpack."""
        src, _ = self.make_mixed(userblock=4096)
        content = bytes(range(256)) * 16
        with open(src, "r+b") as f:
            f.write(content)
        packed, restored = self.out("ub.packed.h5"), self.out("ub.restored.h5")
        run(src, packed, check=0)
        run("--unpack", packed, restored, check=0)
        for path in (packed, restored):
            with open(path, "rb") as f:
                self.assertEqual(f.read(4096), content, path)
            with h5py.File(path, "r") as f:
                self.assertEqual(f.userblock_size, 4096)

    def test_no_sync_writes_the_same_file(self):
        src = os.path.join(SAMPLES, "renderme_sample.smc")
        synced, unsynced = self.out("synced.h5"), self.out("unsynced.h5")
        run(src, synced, check=0)
        run("--no-sync", src, unsynced, check=0)
        self.assertEqual(object_layout(synced), object_layout(unsynced))
        self.assert_no_temp_files()

    def test_a_failed_background_write_fails_the_run(self):
        """OUT larger than the file size limit: the kernel copy hits EFBIG, the run stops with exit 1 and a
        message naming OUT and the cause, and leaves neither OUT nor its temporary file. SIGXFSZ is left at its
        default action (subprocess restores it): the tool itself must not die of it."""
        src = self.out("big.h5")
        with h5py.File(src, "w") as f:
            for i, raw in enumerate(self.frames(40)):
                f[f"Camera/{i % 4:02d}/color/{i // 4}"] = raw
        dst = self.out("too-big.h5")
        limit = os.path.getsize(src) // 2

        def limit_file_size():
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        result = subprocess.run([REPACK, src, dst], capture_output=True, text=True, timeout=300,
                                preexec_fn=limit_file_size)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"h5imgrepack: error: cannot write '{dst}': {os.strerror(errno.EFBIG)}", result.stderr)
        self.assertFalse(os.path.exists(dst))
        self.assert_no_temp_files()
        run(src, dst, check=0)  # the same job without the limit succeeds
        self.assertEqual(self.assert_chunks_are_the_bytes(src, dst), 40)


    def test_input_that_shrinks_under_its_mapping_fails_cleanly(self):
        """IN shrinking while it is read (the shim makes every read through IN's mapping find no file, as
        truncation would) ends the run with exit 1 and a message naming IN and OUT, not a SIGBUS with a core
        dump, and leaves neither OUT nor its temporary file."""
        shim = os.environ.get("H5IMG_SHRUNK_INPUT_SHIM")
        if not shim:
            self.skipTest("H5IMG_SHRUNK_INPUT_SHIM not set (CTest sets it)")
        src = os.path.join(SAMPLES, "renderme_sample.smc")
        dst = self.out("shrunk.h5")
        env = dict(os.environ)
        env["LD_PRELOAD"] = " ".join(x for x in (env.get("LD_PRELOAD", ""), shim) if x)
        result = subprocess.run([REPACK, src, dst], capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"h5imgrepack: error: '{src}' shrank or changed while it was being read; '{dst}' was not "
                      "written", result.stderr)
        self.assertFalse(os.path.exists(dst))
        self.assert_no_temp_files()

    def test_input_that_shrinks_during_the_kernel_copy_blames_the_input(self):
        """IN found shorter by the kernel's file-to-file copy of a frame (the shim makes splice and
        copy_file_range from IN meet its end, as after a truncation) is IN's fault: the message names IN as
        having shrunk, not a write error of OUT, and nothing is left behind."""
        shim = os.environ.get("H5IMG_SHRUNK_INPUT_SHIM")
        if not shim:
            self.fail("H5IMG_SHRUNK_INPUT_SHIM not set (CTest sets it)")
        src = os.path.join(SAMPLES, "renderme_sample.smc")
        dst = self.out("shrunk-copy.h5")
        env = dict(os.environ, H5IMG_SHRINK_AT="copy")
        env["LD_PRELOAD"] = " ".join(x for x in (env.get("LD_PRELOAD", ""), shim) if x)
        result = subprocess.run([REPACK, src, dst], capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"h5imgrepack: error: '{src}' shrank or changed while it was being read; '{dst}' was not "
                      "written", result.stderr)
        self.assertNotIn("cannot write", result.stderr)
        self.assertFalse(os.path.exists(dst))
        self.assert_no_temp_files()


class References(Workspace):
    """HDF5 references point at IN's addresses, and the tool cannot remap them: it must refuse such files
    instead of writing broken references (dimension scales are the common case)."""

    def check_refused(self, name, build, where):
        src, dst = self.out(name + ".h5"), self.out(name + ".out.h5")
        with h5py.File(src, "w") as f:
            f["Camera/00/mask/0"] = np.frombuffer(cv2.imencode(".png", np.zeros((8, 8), np.uint8))[1].tobytes(),
                                                  np.uint8)
            build(f)
        for args in ((src, dst), ("--unpack", src, dst)):
            result = run(*args, check=1)
            self.assertIn(f"h5imgrepack: error: '{src}' holds HDF5 references ({where}), which h5imgrepack cannot "
                          f"carry over", result.stderr)
            self.assertFalse(os.path.exists(dst))
            self.assert_no_temp_files()

    def test_dimension_scales(self):
        def build(f):
            f["x"] = np.arange(5.0)
            f["x"].make_scale("x")
            f["data"] = np.ones(5)
            f["data"].dims[0].attach_scale(f["x"])
        self.check_refused("scales", build, "/data, attribute 'DIMENSION_LIST'")

    def test_reference_attribute_and_dataset(self):
        self.check_refused("attr", lambda f: f.attrs.create("ref", f["Camera/00/mask/0"].ref), "/, attribute 'ref'")
        self.check_refused("data", lambda f: f.create_dataset("refs", data=[f["Camera/00/mask/0"].ref],
                                                              dtype=h5py.ref_dtype), "/refs, its data")


class SafeWrites(Workspace):
    """OUT appears whole or not at all; IN is never written."""

    def test_refuses_existing_output_without_force(self):
        src = os.path.join(SAMPLES, "renderme_sample.smc")
        dst = self.out("exists.smc")
        with open(dst, "w") as f:
            f.write("keep me")
        result = run(src, dst, check=1)
        self.assertIn("h5imgrepack: error:", result.stderr)
        self.assertIn("--force", result.stderr)
        with open(dst) as f:
            self.assertEqual(f.read(), "keep me")
        run("--force", src, dst, check=0)
        self.assertTrue(h5py.is_hdf5(dst))
        self.assert_no_temp_files()

    def test_dangling_symlink_as_output_needs_force(self):
        """A symbolic link at OUT whose target is missing is still something there: replacing it needs --force,
        like any existing OUT, and without it the link is left as it was."""
        src = os.path.join(SAMPLES, "renderme_sample.smc")
        dst = self.out("dangling.h5")
        os.symlink(self.out("missing-target.h5"), dst)
        result = run(src, dst, check=1)
        self.assertIn(f"h5imgrepack: error: '{dst}' exists (a symbolic link to a missing file); use --force",
                      result.stderr)
        self.assertTrue(os.path.islink(dst))
        self.assertEqual(os.readlink(dst), self.out("missing-target.h5"))
        run("--force", src, dst, check=0)
        self.assertFalse(os.path.islink(dst))
        self.assertTrue(h5py.is_hdf5(dst))
        self.assert_no_temp_files()

    def test_refuses_input_as_output(self):
        src = self.out("in.smc")
        shutil.copy(os.path.join(SAMPLES, "dna_sample.smc"), src)
        before = sha256(src)
        os.link(src, self.out("alias.smc"))
        for target in (src, self.out("alias.smc"), os.path.join(self.tmp, ".", "in.smc")):
            result = run("--force", src, target, check=1)
            self.assertIn("same file", result.stderr)
        self.assertEqual(sha256(src), before)
        self.assert_no_temp_files()

    def test_missing_or_non_hdf5_input_fails_cleanly(self):
        result = run(self.out("absent.smc"), self.out("o.smc"), check=1)
        self.assertTrue(result.stderr.startswith("h5imgrepack: error:"))
        text = self.out("text.smc")
        with open(text, "w") as f:
            f.write("not hdf5")
        run(text, self.out("o.smc"), check=1)
        self.assertFalse(os.path.exists(self.out("o.smc")))
        self.assert_no_temp_files()


class Interrupted(Workspace):
    """Signals during a run on a larger file leave no OUT and an unchanged IN."""

    FRAMES = 6000

    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP_ROOT, exist_ok=True)
        cls.big_dir = tempfile.mkdtemp(prefix="repack-big-", dir=TMP_ROOT)
        cls.big = os.path.join(cls.big_dir, "big.smc")
        image = cv2.resize(skimage.data.astronaut(), (160, 120), interpolation=cv2.INTER_AREA)
        frame = np.frombuffer(cv2.imencode(".jpg", image)[1].tobytes(), np.uint8)
        with h5py.File(cls.big, "w") as f:
            for i in range(cls.FRAMES):
                f[f"Camera/{i % 20:02d}/color/{i // 20}"] = frame
        cls.big_sum = sha256(cls.big)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.big_dir, ignore_errors=True)

    def interrupt(self, sig):
        dst = self.out("big-out.smc")
        proc = subprocess.Popen([REPACK, "--verify", self.big, dst], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if any(".tmp-" in n for n in os.listdir(self.tmp)):
                break
            time.sleep(0.002)
        time.sleep(0.1)  # well into the walk
        self.assertIsNone(proc.poll(), "repack finished before it could be interrupted; make the file larger")
        proc.send_signal(sig)
        proc.communicate(timeout=60)
        self.assertFalse(os.path.exists(dst), "OUT must not exist after an interrupted run")
        self.assertEqual(sha256(self.big), self.big_sum, "IN changed")
        return proc.returncode

    def test_sigint_exits_130_and_removes_the_temporary_file(self):
        self.assertEqual(self.interrupt(signal.SIGINT), 130)
        self.assert_no_temp_files()

    def test_sigterm_exits_143_and_removes_the_temporary_file(self):
        self.assertEqual(self.interrupt(signal.SIGTERM), 143)
        self.assert_no_temp_files()

    def test_sigkill_never_leaves_out(self):
        self.assertEqual(self.interrupt(signal.SIGKILL), -signal.SIGKILL)

    def assert_complete(self, path):
        """OUT that exists must be the whole conversion: every frame, each chunk the original bytes."""
        with h5py.File(self.big, "r") as src, h5py.File(path, "r") as dst:
            frames = [path for path, kind, _ in walk(dst) if kind == "dataset"]
            self.assertEqual(len(frames), self.FRAMES)
            for p in (frames[0], frames[len(frames) // 2], frames[-1]):
                _, chunk = dst[p].id.read_direct_chunk((0,) * dst[p].ndim)
                self.assertEqual(chunk, src[p][()].tobytes(), p)

    def test_sigkill_and_sigint_at_several_points(self):
        """Whenever the signal lands, IN is unchanged and OUT is absent or complete; SIGINT leaves no temp file."""
        for sig in (signal.SIGKILL, signal.SIGINT):
            for delay in (0.0, 0.02, 0.1, 0.3, 0.6, 1.0, 30.0):
                with self.subTest(signal=sig.name, delay=delay):
                    dst = self.out(f"at-{sig.name}-{delay}.smc")
                    proc = subprocess.Popen([REPACK, "--verify", self.big, dst], stderr=subprocess.PIPE, text=True)
                    try:
                        proc.wait(timeout=delay)
                    except subprocess.TimeoutExpired:
                        proc.send_signal(sig)
                    proc.communicate(timeout=60)
                    self.assertEqual(sha256(self.big), self.big_sum, "IN changed")
                    if proc.returncode == 0:
                        self.assert_complete(dst)
                    else:
                        # -SIGINT: the signal came before the handler, which is set before any file is made
                        self.assertIn(proc.returncode, (-signal.SIGKILL, -signal.SIGINT, 130))
                        self.assertFalse(os.path.exists(dst), "OUT must not exist after an interrupted run")
                    if sig == signal.SIGINT:
                        self.assert_no_temp_files()
                    for name in os.listdir(self.tmp):  # SIGKILL cannot clean up; the next case starts clean
                        if ".tmp-" in name:
                            os.unlink(os.path.join(self.tmp, name))

    def test_completed_run_leaves_no_temporary_file(self):
        run("-q", self.big, self.out("done.smc"), check=0)
        self.assert_no_temp_files()
        with h5py.File(self.out("done.smc"), "r") as f:
            self.assertEqual(f["Camera/07/color/3"].shape, (120, 160, 3))


class CommandLine(unittest.TestCase):
    def test_help_names_every_option(self):
        result = run("--help", check=0)
        for option in ("--infile", "--outfile", "--unpack", "--verify", "--strict", "--bgr", "--rule", "--force",
                       "--no-sync", "--verbose", "--quiet", "--help", "--version", "EXIT STATUS", "EXAMPLES"):
            self.assertIn(option, result.stdout, option)

    def test_version(self):
        self.assertIn("h5imgrepack", run("--version", check=0).stdout)

    def test_usage_errors(self):
        for args in ((), ("only-in",), ("a", "b", "c"), ("--rule", "x=bogus", "a", "b"), ("--nope", "a", "b")):
            result = run(*args, check=1)
            self.assertIn("h5imgrepack", result.stderr, args)



def small_jpeg():
    image = np.zeros((40, 50, 3), np.uint8)
    image[10:20] = (200, 100, 50)
    ok, data = cv2.imencode(".jpg", image)
    if not ok:
        raise RuntimeError("cv2.imencode failed")
    return np.frombuffer(data.tobytes(), np.uint8)


class Issue19Repack(Workspace):
    """Defects of issue 19: what pack and --unpack must carry over that they lost."""

    def round_trip(self, src):
        packed, back = self.out("packed.h5"), self.out("back.h5")
        run(src, packed, check=0)
        run("--unpack", packed, back, check=0)
        return packed, back

    def test_root_link_creation_order_survives_both_ways(self):
        """A root group that tracks and indexes link creation order (h5py track_order=True) keeps it in the
        repacked and the unpacked file, and its links come back in creation order, not name order."""
        src = self.out("ordered.h5")
        names = ["zeta", "alpha", "frame", "mid"]
        with h5py.File(src, "w", track_order=True) as f:
            for name in names:
                if name == "frame":
                    f[name] = small_jpeg()
                else:
                    f[name] = np.arange(3)
        order = h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED
        for path in self.round_trip(src):
            with h5py.File(path, "r") as f:
                root = h5py.h5g.open(f.id, b"/")
                self.assertEqual(root.get_create_plist().get_link_creation_order(), order, path)
                seen = []
                f.id.links.iterate(lambda name: seen.append(name.decode()), idx_type=h5py.h5.INDEX_CRT_ORDER)
                self.assertEqual(seen, names, path)

    def test_committed_datatypes_stay_committed_and_shared_as_they_were(self):
        """Named datatypes, and the datasets and attributes that use them, stay committed both ways: two
        distinct types with the same definition stay two objects, a type with two hard links stays one, each
        keeps its own attributes, and the data are equal. A dataset is met in the walk before its type. A frame
        whose type is committed stays raw bytes (listed) rather than lose its type; other frames still convert."""
        src = self.out("named.h5")
        pair = np.dtype([("x", "<i4"), ("y", "<f8")])
        with h5py.File(src, "w") as f:
            f["frames/cam/0"] = small_jpeg()
            f["t_one"] = pair
            f["t_two"] = pair  # same definition, another object
            f["t_one"].attrs["unit"] = "one"
            f["t_two"].attrs["unit"] = "two"
            f["shared/t"] = np.dtype("<u2")
            f["shared_again"] = f["shared/t"]  # a second hard link to the same type
            data = np.array([(1, 0.5), (2, 1.5)], dtype=pair)
            f.create_dataset("a_points", data=data, dtype=f["t_one"])  # before t_one in name order
            f.create_dataset("b_points", data=data, dtype=f["t_two"], chunks=(1,), compression="gzip")
            f.create_dataset("shared/values", data=np.arange(5, dtype="<u2"), dtype=f["shared_again"])
            f["a_points"].attrs.create("tag", np.array([7, 8], dtype="<u2"), dtype=f["shared/t"])
            f.attrs.create("root_tag", data[0], dtype=f["t_two"])
            f["byte"] = np.dtype("u1")
            f.create_dataset("frames/named", data=small_jpeg(), dtype=f["byte"])
        packed, back = self.out("packed.h5"), self.out("back.h5")
        result = run(src, packed, check=0)
        self.assertIn("/frames/named: its datatype is a committed (named) one", result.stderr)
        run("--unpack", packed, back, check=0)
        for path in (packed, back):
            with h5py.File(src, "r") as old, h5py.File(path, "r") as new:
                for name in ("t_one", "t_two", "shared/t", "shared_again"):
                    self.assertIsInstance(new[name], h5py.Datatype, (path, name))
                    self.assertEqual(new[name].dtype, old[name].dtype, (path, name))
                    self.assertEqual(attr_items(new[name]), attr_items(old[name]), (path, name))
                addr = {name: h5py.h5o.get_info(new[name].id).addr for name in ("t_one", "t_two", "shared/t",
                                                                                 "shared_again")}
                self.assertNotEqual(addr["t_one"], addr["t_two"], path)
                self.assertEqual(addr["shared/t"], addr["shared_again"], path)
                for name in ("t_one", "shared/t"):  # links plus uses: nothing copied twice, nothing lost
                    rc = h5py.h5o.get_info(new[name].id).rc
                    self.assertEqual(rc, h5py.h5o.get_info(old[name].id).rc, (path, name))
                uses = (("a_points", "t_one"), ("b_points", "t_two"), ("shared/values", "shared/t"),
                        ("frames/named", "byte"))  # the frame with a committed type stays raw, its type kept
                for name, type_name in uses:
                    stored = new[name].id.get_type()
                    self.assertTrue(stored.committed(), (path, name))
                    self.assertEqual(h5py.h5o.get_info(stored).addr, h5py.h5o.get_info(new[type_name].id).addr,
                                     (path, name))
                    assert_same_dataset(self, old[name], new[name], name)
                    self.assertEqual(attr_items(new[name]), attr_items(old[name]), (path, name))
                tag = new["a_points"].attrs.get_id("tag").get_type()
                self.assertTrue(tag.committed(), path)
                self.assertEqual(h5py.h5o.get_info(tag).addr, h5py.h5o.get_info(new["shared/t"].id).addr, path)
                root_tag = new.attrs.get_id("root_tag").get_type()
                self.assertTrue(root_tag.committed(), path)
                self.assertEqual(h5py.h5o.get_info(root_tag).addr, h5py.h5o.get_info(new["t_two"].id).addr, path)
                self.assertEqual(new.attrs["root_tag"].tolist(), old.attrs["root_tag"].tolist(), path)
        with h5py.File(packed, "r") as f:
            self.assertEqual(f["frames/cam/0"].shape, (40, 50, 3))  # the frame was still converted
        with h5py.File(src, "r") as old, h5py.File(back, "r") as new:
            self.assertEqual(new["frames/cam/0"][()].tobytes(), old["frames/cam/0"][()].tobytes())


if __name__ == "__main__":
    unittest.main()
