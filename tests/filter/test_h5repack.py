#!/usr/bin/python3
"""test_h5repack.py: h5repack -f <dset>:UD=49301,0,0 compresses an existing image dataset with h5img, no parameters needed.

Run with Debian's /usr/bin/python3 and HDF5_PLUGIN_PATH pointing at the built plugin.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import cv2
import h5py
import numpy as np

FILTER = 49301
CONFORMANCE = os.environ.get("H5IMG_CONFORMANCE_DIR", os.path.join(os.path.dirname(__file__), "../../../shared/conformance"))


def run(*args):
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


class H5repack(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="h5img-h5repack-")
        self.source = os.path.join(self.dir, "in.h5")
        self.target = os.path.join(self.dir, "out.h5")
        photo = cv2.imread(os.path.join(CONFORMANCE, "jpeg/testorig.ppm"), cv2.IMREAD_COLOR)
        self.assertIsNotNone(photo)
        self.photo = np.ascontiguousarray(photo[:, :, ::-1])
        self.gray = np.ascontiguousarray(photo[:, :, 1])
        with h5py.File(self.source, "w") as f:
            f.create_dataset("chunked", data=self.photo, chunks=self.photo.shape)
            f.create_dataset("contiguous", data=self.gray)
            f.create_dataset("untouched", data=np.linspace(0, 1, 50, dtype=np.float32))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def repack(self, *options):
        code, output = run("h5repack", *options, self.source, self.target)
        self.assertEqual(code, 0, output)

    def assert_filtered(self, name, expected):
        with h5py.File(self.target, "r") as f:
            dset = f[name]
            np.testing.assert_array_equal(dset[()], expected)
            skipped, raw = dset.id.read_direct_chunk((0,) * dset.ndim)
            self.assertEqual(skipped, 0, "the filter was skipped: raw pixels stored")
            self.assertTrue(bytes(raw).startswith(b"\x89PNG\r\n\x1a\n"))
            _, cd, _ = dset.id.get_create_plist().get_filter_by_id(FILTER)
            return tuple(cd)

    def test_chunked_dataset(self):
        """Guards: UD=49301,0,0 (no cd_values) works: set_local fills all 9, the copy reads back equal."""
        self.repack("-f", "chunked:UD=49301,0,0")
        height, width = self.photo.shape[:2]
        cd = self.assert_filtered("chunked", self.photo)
        self.assertEqual(cd, (1, 2, 0, 0, 0, height, width, 3, 1))
        code, output = run("h5dump", "-p", "-H", "-d", "/chunked", self.target)
        self.assertEqual(code, 0, output)
        self.assertIn("FILTER_ID 49301", output)
        params = re.search(r"PARAMS \{([^}]*)\}", output)
        self.assertIsNotNone(params, output)
        self.assertEqual(params.group(1).split(), ["1", "2", "0", "0", "0", str(height), str(width), "3", "1"])
        with h5py.File(self.target, "r") as f:
            self.assertNotIn(str(FILTER), f["untouched"]._filters)

    def test_contiguous_dataset_with_layout(self):
        """Guards: a contiguous dataset given a one-image chunk layout by -l is filtered too (mask rule)."""
        height, width = self.gray.shape
        self.repack("-l", f"contiguous:CHUNK={height}x{width}", "-f", "contiguous:UD=49301,0,0")
        cd = self.assert_filtered("contiguous", self.gray)
        self.assertEqual(cd, (1, 3, 0, 0, 0, height, width, 1, 1))

    def test_not_one_image_left_alone(self):
        """Guards: a dataset that is not one image is refused by can_apply, so h5repack warns and copies it
        unfiltered (readable), instead of storing chunks no reader could decode."""
        code, output = run("h5repack", "-v", "-f", "untouched:UD=49301,0,0", self.source, self.target)
        self.assertEqual(code, 0, output)
        self.assertIn("could not create dataset", output)
        with h5py.File(self.source, "r") as f:
            original = f["untouched"][()]
        with h5py.File(self.target, "r") as f:
            self.assertNotIn(str(FILTER), f["untouched"]._filters)
            np.testing.assert_array_equal(f["untouched"][()], original)

if __name__ == "__main__":
    unittest.main()
