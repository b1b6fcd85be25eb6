#!/usr/bin/python3
"""test_h5dump.py: h5dump, a client that knows nothing of h5img, prints the decoded pixels and the filter's cd_values.

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


def h5dump(*args):
    result = subprocess.run(["h5dump", *args], capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def data_values(text):
    """The integers of the DATA block of `h5dump -y -w 0` output, in storage order."""
    start = text.index("DATA {")
    block = text[start + len("DATA {"): text.index("}", start)]
    return np.array([int(v) for v in re.findall(r"\d+", block)])


class H5dump(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="h5img-h5dump-")
        self.path = os.path.join(self.dir, "dump.h5")
        with open(os.path.join(CONFORMANCE, "jpeg/testorig.jpg"), "rb") as f:
            self.jpeg = f.read()
        with open(os.path.join(CONFORMANCE, "pngsuite/basn0g16.png"), "rb") as f:
            self.png16 = f.read()
        self.color = cv2.imdecode(np.frombuffer(self.jpeg, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
        self.gray16 = cv2.imdecode(np.frombuffer(self.png16, np.uint8), cv2.IMREAD_UNCHANGED)
        with h5py.File(self.path, "w") as f:
            for name, data, image in (("color", self.jpeg, self.color), ("gray16", self.png16, self.gray16)):
                dset = f.create_dataset(name, shape=image.shape, dtype=image.dtype, chunks=image.shape,
                                        compression=FILTER)
                dset.id.write_direct_chunk((0,) * image.ndim, data)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_pixels_equal_cv2(self):
        """Guards: the plugin decodes for any HDF5 tool, giving exactly cv2.imdecode's pixels."""
        for name, expected in (("color", self.color), ("gray16", self.gray16)):
            with self.subTest(dataset=name):
                code, out, err = h5dump("-d", "/" + name, "-y", "-w", "0", self.path)
                self.assertEqual(code, 0, err)
                values = data_values(out)
                self.assertEqual(values.size, expected.size)
                np.testing.assert_array_equal(values, expected.ravel().astype(np.int64))

    def test_properties_show_filter(self):
        """Guards: h5dump -p shows filter 49301, its name and the 9 cd_values set_local stored."""
        code, out, err = h5dump("-p", "-H", "-d", "/color", self.path)
        self.assertEqual(code, 0, err)
        self.assertIn("FILTER_ID 49301", out)
        self.assertIn("h5img", out)
        height, width = self.color.shape[:2]
        self.assertRegex(out, rf"PARAMS {{ 1 2 0 0 0 {height} {width} 3 1 }}")


if __name__ == "__main__":
    unittest.main()
