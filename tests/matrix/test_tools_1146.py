#!/usr/bin/python3
"""test_tools_1146.py: HDF5 1.14.6's own h5dump, h5ls and h5repack, loading the plugin from HDF5_PLUGIN_PATH, read and write h5img datasets as OpenCV decodes them.

Run with Debian's /usr/bin/python3 (its h5py, on the system HDF5, only makes the input files
and reads stored chunks, which needs no filter) and these variables, which CTest sets:
H5IMG_HDF5_1146_PREFIX, HDF5_PLUGIN_PATH, H5IMG_MATRIX_FIXTURES (made by make_fixtures.py),
H5IMG_SAMPLES and H5IMG_CONFORMANCE_DIR.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import cv2
import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "filter"))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
from test_h5dump import data_values  # noqa: E402  the DATA block of `h5dump -y -w 0`
from make_oracle import decode  # noqa: E402  cv2.imdecode under an h5img rule, RGB order

FILTER = 49301


def required(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set (run through ctest)")
    return value


PREFIX = required("H5IMG_HDF5_1146_PREFIX")
FIXTURES = required("H5IMG_MATRIX_FIXTURES")
SAMPLES = required("H5IMG_SAMPLES")
CONFORMANCE = required("H5IMG_CONFORMANCE_DIR")


def tool(name, *args):
    """Runs PREFIX/bin/NAME; (exit code, stdout, stderr)."""
    result = subprocess.run([os.path.join(PREFIX, "bin", name), *args], capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def legacy_frames(path):
    """HDF5 path -> stored bytes of every frame OpenCV decodes in a legacy file."""
    found = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and obj.dtype == np.uint8 and obj.size:
            data = obj[()].tobytes()
            if (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")) and \
                    cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) is not None:
                found["/" + name] = data

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def rule_of(path):
    """h5imgrepack's default: mask under a path component containing "mask", else native (RGB)."""
    return "mask" if any("mask" in part.lower() for part in path.split("/")) else "native"


def without_indices(text):
    """The DATA values of h5ls -d output, whose lines start with indices like (0,12)."""
    block = text[text.index("Data:") + len("Data:"):]
    return np.array([int(v) for v in re.findall(r"\d+", re.sub(r"\(\d+(,\d+)*\)", " ", block))])


class Version(unittest.TestCase):
    def test_tools_are_1146(self):
        """Guards: the tools under test are HDF5 1.14.6's, not the system's 1.10."""
        for name in ("h5dump", "h5ls", "h5repack"):
            with self.subTest(tool=name):
                code, out, err = tool(name, "--version")
                self.assertEqual(code, 0, err)
                self.assertIn("1.14.6", out + err)


class RepackedSample(unittest.TestCase):
    """renderme_sample.smc repacked by h5imgrepack (fixture), read by 1.14.6's h5dump and h5ls."""

    @classmethod
    def setUpClass(cls):
        cls.repacked = os.path.join(FIXTURES, "renderme_sample.h5")
        if not os.path.exists(cls.repacked):
            raise RuntimeError(f"{cls.repacked} is missing (the matrix.fixtures test makes it)")
        cls.frames = legacy_frames(os.path.join(SAMPLES, "renderme_sample.smc"))

    def test_h5dump_every_frame(self):
        """Guards: 1.14.6's h5dump prints every frame exactly as cv2.imdecode decodes its legacy bytes."""
        self.assertGreater(len(self.frames), 10)
        for path, data in sorted(self.frames.items()):
            with self.subTest(frame=path):
                expected = decode(data, rule_of(path))
                code, out, err = tool("h5dump", "-d", path, "-y", "-w", "0", self.repacked)
                self.assertEqual(code, 0, err)
                self.assertEqual(err, "")
                values = data_values(out)
                self.assertEqual(values.size, expected.size)
                np.testing.assert_array_equal(values, expected.ravel().astype(np.int64))

    def test_h5ls_data(self):
        """Guards: 1.14.6's h5ls -d decodes a mask and a colour frame too, and -v names the filter."""
        for path in ("/Camera/00/mask/0", "/Camera/25/color/1"):
            with self.subTest(frame=path):
                code, out, err = tool("h5ls", "-d", self.repacked + path)
                self.assertEqual(code, 0, err)
                np.testing.assert_array_equal(without_indices(out),
                                              decode(self.frames[path], rule_of(path)).ravel().astype(np.int64))
        code, out, err = tool("h5ls", "-v", self.repacked + "/Camera/00/color/0")
        self.assertEqual(code, 0, err)
        height, width = decode(self.frames["/Camera/00/color/0"], "native").shape[:2]
        # h5imgrepack stores the JPEG as it was: rule native (1), codec JPEG (1).
        self.assertRegex(out, rf"Filter-0:\s+h5img: [^\n]*-{FILTER}\s+\{{1, 1, 0, 1, 0, {height}, {width}, 3, 1\}}")


class Written(unittest.TestCase):
    """Datasets 1.14.6's h5repack writes through the filter, read back by 1.14.6's h5dump."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="h5img-matrix-1146-")
        self.source = os.path.join(self.dir, "in.h5")
        self.target = os.path.join(self.dir, "out.h5")
        photo = cv2.imread(os.path.join(CONFORMANCE, "jpeg/testorig.ppm"), cv2.IMREAD_COLOR)
        self.assertIsNotNone(photo)
        self.rgb = np.ascontiguousarray(photo[:, :, ::-1])
        self.gray = np.ascontiguousarray(photo[:, :, 1])
        rgba = np.dstack([self.rgb, self.gray])
        with h5py.File(self.source, "w") as f:
            f.create_dataset("rgb", data=self.rgb, chunks=self.rgb.shape)
            f.create_dataset("gray", data=self.gray, chunks=self.gray.shape)
            f.create_dataset("rgba", data=rgba, chunks=rgba.shape)
            f.create_dataset("untouched", data=np.linspace(0, 1, 50, dtype=np.float32))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def repack(self, *filters):
        args = [arg for spec in filters for arg in ("-f", spec)]
        code, out, err = tool("h5repack", *args, self.source, self.target)
        self.assertEqual(code, 0, out + err)
        return out + err

    def dumped(self, name):
        code, out, err = tool("h5dump", "-d", "/" + name, "-y", "-w", "0", self.target)
        self.assertEqual(code, 0, err)
        return data_values(out)

    def stored(self, name):
        """(cd_values, the single chunk's bytes) of a dataset of the repacked file."""
        with h5py.File(self.target, "r") as f:
            dset = f[name]
            _, cd, _ = dset.id.get_create_plist().get_filter_by_id(FILTER)
            skipped, raw = dset.id.read_direct_chunk((0,) * dset.ndim)
            self.assertEqual(skipped, 0, f"{name}: the filter was skipped, raw pixels stored")
            return tuple(cd), bytes(raw)

    def test_png(self):
        """Guards: UD=49301,0,0 through 1.14.6's h5repack stores PNG with all 9 cd_values; lossless."""
        self.repack("rgb:UD=49301,0,0", "gray:UD=49301,0,0")
        for name, image, rule, channels in (("rgb", self.rgb, 2, 3), ("gray", self.gray, 3, 1)):
            with self.subTest(dataset=name):
                height, width = image.shape[:2]
                cd, raw = self.stored(name)
                self.assertEqual(cd, (1, rule, 0, 0, 0, height, width, channels, 1))
                self.assertTrue(raw.startswith(b"\x89PNG\r\n\x1a\n"))
                np.testing.assert_array_equal(self.dumped(name), image.ravel().astype(np.int64))

    def test_jpeg_quality_90(self):
        """Guards: UD=49301,0,5,1,0,0,1,90 (version 1, auto rule, no flags, JPEG, quality 90) stores a JPEG
        that 1.14.6's h5dump reads back as cv2.imdecode decodes the stored chunk."""
        self.repack("rgb:UD=49301,0,5,1,0,0,1,90", "gray:UD=49301,0,5,1,0,0,1,90")
        for name, image, rule, channels, oracle_rule in (("rgb", self.rgb, 2, 3, "color"),
                                                        ("gray", self.gray, 3, 1, "mask")):
            with self.subTest(dataset=name):
                height, width = image.shape[:2]
                cd, raw = self.stored(name)
                self.assertEqual(cd, (1, rule, 0, 1, 90, height, width, channels, 1))
                self.assertTrue(raw.startswith(b"\xff\xd8\xff"))
                expected = decode(raw, oracle_rule)
                self.assertEqual(expected.shape, image.shape)
                np.testing.assert_array_equal(self.dumped(name), expected.ravel().astype(np.int64))
                self.assertLess(np.abs(expected.astype(int) - image.astype(int)).mean(), 4)

    def test_refused_left_unfiltered(self):
        """Guards: datasets h5img cannot store (not one image; a 4-channel JPEG) are refused by the plugin
        serving 1.14.6, and h5repack copies them unfiltered and readable rather than storing chunks no reader
        could decode."""
        output = self.repack("untouched:UD=49301,0,0", "rgba:UD=49301,0,5,1,0,0,1,90")
        with h5py.File(self.source, "r") as f:
            originals = {name: f[name][()] for name in ("untouched", "rgba")}
        with h5py.File(self.target, "r") as f:
            for name, original in originals.items():
                with self.subTest(dataset=name):
                    self.assertNotIn(str(FILTER), f[name]._filters, output)
                    np.testing.assert_array_equal(f[name][()], original)

    def test_corrupt_chunk_fails(self):
        """Guards: a filtered chunk whose PNG data is corrupt makes 1.14.6's h5dump fail instead of printing
        pixels."""
        self.repack("gray:UD=49301,0,0")
        with h5py.File(self.target, "r+") as f:
            dset = f["gray"]
            _, raw = dset.id.read_direct_chunk((0, 0))
            raw = bytearray(raw)
            idat = raw.index(b"IDAT")
            for k in range(4):
                raw[idat + 24 + k] ^= 0x5A
            dset.id.write_direct_chunk((0, 0), bytes(raw))
        code, out, err = tool("h5dump", "-d", "/gray", "-y", "-w", "0", self.target)
        self.assertNotEqual(code, 0, out)
        self.assertIsNone(re.search(r"DATA \{\s*\d", out), "h5dump printed values of a corrupt chunk")


if __name__ == "__main__":
    unittest.main()
