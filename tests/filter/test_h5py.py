#!/usr/bin/python3
"""test_h5py.py: the filter as h5py users meet it (compression=49301, direct chunk writes), checked against cv2.imdecode.

Run with Debian's /usr/bin/python3 and HDF5_PLUGIN_PATH pointing at the built plugin.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import cv2
import h5py
import numpy as np

FILTER = 49301
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CONFORMANCE = os.environ.get("H5IMG_CONFORMANCE_DIR", os.path.join(os.path.dirname(__file__), "../../../shared/conformance"))
NO_EXIF = cv2.IMREAD_IGNORE_ORIENTATION

# cd_values slots (include/h5img.h)
RULE_NATIVE, RULE_COLOR, RULE_MASK, RULE_LUMA = 1, 2, 3, 4
FLAG_BGR = 1
CODEC_JPEG = 1


def conformance(relative):
    with open(os.path.join(CONFORMANCE, relative), "rb") as f:
        return f.read()


def real_photo_gray():
    """A real grayscale photograph: skimage's camera, or libjpeg-turbo's test image in gray."""
    try:
        from skimage import data
        return data.camera()
    except ImportError:
        return cv2.imread(os.path.join(CONFORMANCE, "jpeg/testorig.ppm"), cv2.IMREAD_GRAYSCALE)


def mask_png():
    """An 8-bit grayscale PNG mask like the SMC files hold, made from a real photo."""
    ok, encoded = cv2.imencode(".png", np.where(real_photo_gray() > 100, 255, 0).astype(np.uint8))
    assert ok
    return encoded.tobytes()


def gray_photo_png():
    ok, encoded = cv2.imencode(".png", real_photo_gray())
    assert ok
    return encoded.tobytes()


def cv2_decode(data, rule):
    """What h5img must return under `rule`, in RGB(A) order (BGR via the flag is checked separately)."""
    buf = np.frombuffer(data, np.uint8)
    if rule == "native":
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    elif rule == "color":
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR | NO_EXIF)
    elif rule == "mask":
        img = np.max(cv2.imdecode(buf, cv2.IMREAD_COLOR | NO_EXIF), axis=2)
    elif rule == "luma":
        img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE | NO_EXIF)
    else:
        raise ValueError(rule)
    if img.ndim == 3:
        img = img[:, :, [2, 1, 0, 3][: img.shape[2]]]
    return img


def to_bgr(img):
    return img[:, :, [2, 1, 0, 3][: img.shape[2]]] if img.ndim == 3 else img


class FilterTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="h5img-h5py-")
        self.path = os.path.join(self.dir, "test.h5")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_direct(self, data, shape, dtype, opts=None):
        """A dataset of the decoded shape whose single chunk is `data`, untouched."""
        with h5py.File(self.path, "w") as f:
            kwargs = {"compression_opts": tuple(opts)} if opts else {}
            dset = f.create_dataset("img", shape=shape, dtype=dtype, chunks=shape, compression=FILTER, **kwargs)
            dset.id.write_direct_chunk((0,) * len(shape), data)

    def read(self, name="img"):
        with h5py.File(self.path, "r") as f:
            return f[name][()]

    def stored(self, name="img"):
        """(stored chunk bytes, cd_values) of the first chunk."""
        with h5py.File(self.path, "r") as f:
            dset = f[name]
            skipped, raw = dset.id.read_direct_chunk((0,) * dset.ndim)
            # h5py adds the filter as optional: a failing encoder would silently store raw pixels
            assert skipped == 0, f"the filter was skipped for this chunk (mask {skipped:#x})"
            _, cd, _ = dset.id.get_create_plist().get_filter_by_id(FILTER)
            return bytes(raw), tuple(cd)


class RoundTrip(FilterTest):
    """Guards: compression=49301 with no options is lossless PNG for every supported layout."""

    def roundtrip(self, data, chunks, opts=None):
        with h5py.File(self.path, "w") as f:
            kwargs = {"compression_opts": tuple(opts)} if opts else {}
            f.create_dataset("img", data=data, chunks=chunks, compression=FILTER, **kwargs)
        back = self.read()
        self.assertEqual(back.dtype, data.dtype)
        np.testing.assert_array_equal(back, data)
        return self.stored()

    def pattern(self, shape, dtype):
        rng = np.random.default_rng(sum(shape))
        base = np.add.outer(np.arange(shape[0]), np.arange(shape[1])).astype(np.int64) * 3
        if len(shape) == 3:
            base = base[:, :, None] + np.arange(shape[2]) * 50
        noise = rng.integers(0, 8, size=shape)
        top = 255 if dtype == np.uint8 else 65535
        return ((base * (1 if dtype == np.uint8 else 257) + noise) % (top + 1)).astype(dtype)

    def test_uint8_layouts(self):
        for shape, rule in (((60, 80), RULE_MASK), ((60, 80, 3), RULE_COLOR), ((60, 80, 4), RULE_NATIVE)):
            with self.subTest(shape=shape):
                raw, cd = self.roundtrip(self.pattern(shape, np.uint8), shape)
                self.assertTrue(raw.startswith(PNG_SIGNATURE))
                channels = shape[2] if len(shape) == 3 else 1
                self.assertEqual(cd, (1, rule, 0, 0, 0, shape[0], shape[1], channels, 1))

    def test_uint16(self):
        for shape in ((50, 70), (50, 70, 3), (50, 70, 4)):
            with self.subTest(shape=shape):
                raw, cd = self.roundtrip(self.pattern(shape, np.uint16), shape)
                self.assertTrue(raw.startswith(PNG_SIGNATURE))
                self.assertEqual(cd[1], RULE_NATIVE)
                self.assertEqual(cd[8], 2)

    def test_uint16_big_endian(self):
        data = self.pattern((40, 30), np.uint16).astype(">u2")
        _, cd = self.roundtrip(data, data.shape)
        self.assertEqual(cd[2], 2)  # BIG_ENDIAN set by set_local from the type

    def test_stack_of_frames(self):
        """(N, H, W, C) chunked (1, H, W, C): one image per frame, each frame readable on its own."""
        data = np.stack([self.pattern((32, 48, 3), np.uint8) + i for i in range(5)])
        self.roundtrip(data, (1, 32, 48, 3))
        with h5py.File(self.path, "r") as f:
            np.testing.assert_array_equal(f["img"][3], data[3])

    def test_png_level(self):
        """Guards: compression_opts slot 4 picks the PNG level, stored in cd_values, lossless at any level."""
        photo = cv2.cvtColor(real_photo_gray(), cv2.COLOR_GRAY2RGB)
        sizes = {}
        for level in (1, 9):
            raw, cd = self.roundtrip(photo, photo.shape, opts=(0, 0, 0, 0, level))
            self.assertTrue(raw.startswith(PNG_SIGNATURE))
            self.assertEqual(cd[3:5], (0, level))
            sizes[level] = len(raw)
        self.assertLessEqual(sizes[9], sizes[1])

    def test_jpeg_quality(self):
        """Guards: compression_opts (0, 0, 0, 1, q) writes JPEG at quality q, read back as cv2 decodes it."""
        photo = cv2.cvtColor(real_photo_gray(), cv2.COLOR_GRAY2RGB)
        sizes = {}
        for quality in (40, 95):
            with h5py.File(self.path, "w") as f:
                f.create_dataset("img", data=photo, chunks=photo.shape, compression=FILTER,
                                 compression_opts=(0, 0, 0, CODEC_JPEG, quality))
            raw, cd = self.stored()
            self.assertTrue(raw.startswith(b"\xff\xd8\xff"))
            self.assertEqual(cd[3:5], (CODEC_JPEG, quality))
            back = self.read()
            np.testing.assert_array_equal(back, cv2_decode(raw, "color"))
            self.assertLess(np.abs(back.astype(int) - photo).mean(), 8 if quality == 40 else 3)
            sizes[quality] = len(raw)
        self.assertLess(sizes[40], sizes[95])

    def test_refusals(self):
        """Guards: datasets h5img cannot hold are refused at creation, with the reason."""
        cases = [
            (dict(shape=(30, 40), dtype="f4", chunks=(30, 40)), "32-bit float"),
            (dict(shape=(4, 30, 40), dtype="u1", chunks=(2, 30, 40)), "leading dimensions must be 1"),
            (dict(shape=(30, 40), dtype="i2", chunks=(30, 40)), "16-bit signed integer"),
            (dict(shape=(30, 40), dtype="u2", chunks=(30, 40), compression_opts=(0, 0, 0, CODEC_JPEG)), "JPEG"),
            (dict(shape=(30, 40, 3), dtype="u1", chunks=(30, 40, 3), compression_opts=(0, RULE_LUMA)), "luma"),
            # libjpeg cannot write a side over 65500: every write would fail, so creation must.
            (dict(shape=(2, 65501), dtype="u1", chunks=(2, 65501), compression_opts=(0, 0, 0, CODEC_JPEG)),
             "JPEG sides are at most 65500"),
        ]
        with h5py.File(self.path, "w") as f:
            for i, (kwargs, reason) in enumerate(cases):
                with self.subTest(reason=reason):
                    with self.assertRaises((ValueError, OSError)) as caught:
                        f.create_dataset(f"bad{i}", compression=FILTER, **kwargs)
                    self.assertIn(reason, str(caught.exception))


    def test_chunk_that_encodes_over_the_limit_is_stored_unfiltered(self):
        """Guards: noise encodes larger than it is; a PNG over the chunk limit would be stored and then refused by
        every read. The filter refuses to encode it, and h5py's optional filter stores the chunk as it is."""
        script = (
            "import sys, h5py, numpy as np\n"
            "data = np.random.default_rng(1).integers(0, 256, (100, 100), dtype=np.uint8)\n"
            "with h5py.File(sys.argv[1], 'w') as f:\n"
            "    f.create_dataset('noise', data=data, chunks=data.shape, compression=%d)\n"
            "with h5py.File(sys.argv[1], 'r') as f:\n"
            "    mask, _ = f['noise'].id.read_direct_chunk((0, 0))\n"
            "    assert mask == 1, mask\n"
            "    assert (f['noise'][()] == data).all()\n" % FILTER)
        env = dict(os.environ, H5IMG_MAX_CHUNK_BYTES="10000")
        done = subprocess.run([sys.executable, "-c", script, self.path], env=env, capture_output=True, text=True,
                              timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)


class DirectChunks(FilterTest):
    """Guards: untouched encoded bytes written as the chunk read back as cv2.imdecode under every rule."""

    FILES = {
        "testorig.jpg": lambda: conformance("jpeg/testorig.jpg"),
        "testimgint.jpg": lambda: conformance("jpeg/testimgint.jpg"),
        "basn0g08.png": lambda: conformance("pngsuite/basn0g08.png"),
        "basn2c08.png": lambda: conformance("pngsuite/basn2c08.png"),
        "basn3p08.png": lambda: conformance("pngsuite/basn3p08.png"),
        "basn6a08.png": lambda: conformance("pngsuite/basn6a08.png"),
        "basn4a08.png": lambda: conformance("pngsuite/basn4a08.png"),
        "basi0g08.png": lambda: conformance("pngsuite/basi0g08.png"),
        "tbrn2c08.png": lambda: conformance("pngsuite/tbrn2c08.png"),
        "basn2c16.png": lambda: conformance("pngsuite/basn2c16.png"),
        "basn0g16.png": lambda: conformance("pngsuite/basn0g16.png"),
        "mask.png": mask_png,
        "camera.png": gray_photo_png,
    }

    def check(self, name, data, rule, opts, bgr=False):
        expected = cv2_decode(data, rule)
        if bgr:
            expected = to_bgr(expected)
        self.write_direct(data, expected.shape, expected.dtype, opts)
        back = self.read()
        self.assertEqual(back.dtype, expected.dtype)
        np.testing.assert_array_equal(back, expected, err_msg=f"{name} under {rule}")

    def test_every_rule(self):
        for name, load in self.FILES.items():
            data = load()
            native = cv2_decode(data, "native")
            eight_bit = native.dtype == np.uint8
            with self.subTest(file=name, rule="native"):
                self.check(name, data, "native", (0, RULE_NATIVE))
            with self.subTest(file=name, rule="color (auto)"):
                self.check(name, data, "color", None)
            with self.subTest(file=name, rule="mask (auto for 1 channel)"):
                self.check(name, data, "mask", None)
            with self.subTest(file=name, rule="luma"):
                self.check(name, data, "luma", (0, RULE_LUMA))
            with self.subTest(file=name, rule="color, BGR"):
                self.check(name, data, "color", (0, 0, FLAG_BGR), bgr=True)
            if native.ndim == 3 and eight_bit:
                with self.subTest(file=name, rule="native, BGR"):
                    self.check(name, data, "native", (0, RULE_NATIVE, FLAG_BGR), bgr=True)

    def test_uint16_big_endian(self):
        """Guards: a 16-bit PNG in a big-endian uint16 dataset reads back with the right values (set_local's
        BIG_ENDIAN flag makes the filter hand HDF5 the bytes in the file type's order)."""
        data = conformance("pngsuite/basn2c16.png")
        expected = cv2_decode(data, "native")
        self.write_direct(data, expected.shape, ">u2")
        np.testing.assert_array_equal(self.read(), expected)

    def test_mask_of_real_photo(self):
        """The SMC mask case: an 8-bit gray PNG in an (H, W) uint8 dataset, no options."""
        data = mask_png()
        self.write_direct(data, real_photo_gray().shape, np.uint8)
        _, cd = self.stored()
        self.assertEqual(cd[1], RULE_MASK)
        np.testing.assert_array_equal(self.read(), np.max(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), axis=2))

    def test_bad_bytes(self):
        """Guards: garbage, a truncated JPEG and a wrong-sized image raise OSError instead of returning data."""
        jpeg = conformance("jpeg/testorig.jpg")
        shape = cv2_decode(jpeg, "color").shape
        cases = {
            "garbage": (b"definitely not an image", shape, "neither PNG nor JPEG"),
            "truncated": (jpeg[: len(jpeg) // 2], shape, "cannot decode"),
            "wider": (jpeg, (shape[0], shape[1] - 1, 3), f"{shape[1]}x{shape[0]}"),
        }
        for what, (data, dshape, message) in cases.items():
            with self.subTest(what=what):
                self.write_direct(data, dshape, np.uint8)
                with self.assertRaises(OSError) as caught:
                    self.read()
                self.assertIn(message, str(caught.exception))


if __name__ == "__main__":
    unittest.main()
