#!/usr/bin/env python3
"""test_vol_h5py.py: PyPI's h5py (its private HDF5: 1.14.6 in 3.15, 2.0 in 3.16) reading legacy SMC files through the h5img VOL connector.

Run with the python of a venv holding an h5py wheel; CTest sets
HDF5_VOL_CONNECTOR=h5img and HDF5_PLUGIN_PATH, so h5py opens every file through
the connector. The connector reaches the wheel's HDF5, loaded under a private
file name, only through its run-time binding. Guards, against OpenCV's decode
(tests/vol/make_vol_oracle.py, run by Debian's python): every frame's shape,
dtype and pixels; slicing, fancy indexing and dtype conversion; non-frames
(read by a child without the connector) unchanged; a cut frame an OSError
naming h5img's reason; writes refused; the rules= override.
"""
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import unittest

import h5py
import numpy as np


def env(name):
    value = os.environ.get(name)
    if not value:
        raise AssertionError(f"environment variable {name} is not set (run through ctest)")
    return value


SAMPLES = ("dna_sample.smc", "renderme_sample.smc")


def sample(name):
    return os.path.join(env("H5IMG_SAMPLES_DIR"), name)


def oracle():
    entries = {}
    with open(os.path.join(env("H5IMG_VOL_ORACLE_DIR"), "manifest.tsv")) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 10:
                entries[(fields[0], fields[1], fields[2])] = fields
    if not entries:
        raise AssertionError("the VOL oracle lists no frames")
    return entries


def expected(entry):
    dtype = np.uint16 if entry[8] == "2" else np.uint8
    shape = (int(entry[5]), int(entry[6])) if entry[7] == "1" else (int(entry[5]), int(entry[6]), int(entry[7]))
    return np.fromfile(os.path.join(env("H5IMG_VOL_ORACLE_DIR"), entry[9]), dtype=dtype).reshape(shape)


def without_connector(script, *args):
    """Run `script` in a child python whose HDF5 has no VOL connector set."""
    environment = dict(os.environ)
    environment.pop("HDF5_VOL_CONNECTOR", None)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], env=environment,
                            capture_output=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"child failed: {result.stderr.decode(errors='replace')}")
    return result.stdout


class ConnectorTest(unittest.TestCase):
    def test_hdf5_is_the_wheels(self):
        """The HDF5 serving the connector is the wheel's private copy (1.14 or 2.0), the only one loaded."""
        self.assertIn(h5py.version.hdf5_version_tuple[:2], ((1, 14), (2, 0)), h5py.version.hdf5_version)
        with h5py.File(sample("dna_sample.smc"), "r") as f:
            self.assertEqual(f["Mask/00/mask/0"].ndim, 2)
        with open("/proc/self/maps") as maps:
            libraries = {line.split()[-1] for line in maps if "libhdf5" in line}
        self.assertTrue(libraries and all("h5py.libs" in lib for lib in libraries), libraries)

    def test_frames_match_opencv(self):
        entries = oracle()
        checked = 0
        for name in SAMPLES:
            with h5py.File(sample(name), "r") as f:
                for (file_name, path, rule), entry in entries.items():
                    if file_name != name or entry[3] != "1":
                        continue
                    if entry[4] != "ok":
                        # OpenCV cannot decode it; its header does not parse either: it stays bytes.
                        self.assertEqual(f[path].ndim, 1, path)
                        continue
                    want = expected(entry)
                    dataset = f[path]
                    self.assertEqual(dataset.shape, want.shape, path)
                    self.assertEqual(dataset.dtype, want.dtype, path)
                    self.assertIsNone(dataset.chunks, path)
                    self.assertIsNone(dataset.compression, path)
                    np.testing.assert_array_equal(dataset[()], want, err_msg=path)
                    checked += 1
        self.assertGreater(checked, 35)

    def test_selections_and_conversion(self):
        want = expected(oracle()[("renderme_sample.smc", "/Camera/25/color/1", "native")])
        with h5py.File(sample("renderme_sample.smc"), "r") as f:
            d = f["Camera/25/color/1"]
            np.testing.assert_array_equal(d[10:50:3, 7:-5, 1:], want[10:50:3, 7:-5, 1:])
            np.testing.assert_array_equal(d[[2, 9, 40]], want[[2, 9, 40]])
            np.testing.assert_array_equal(d[-1, :, 2], want[-1, :, 2])
            np.testing.assert_array_equal(d.astype("float32")[()], want.astype("float32"))
            out = np.zeros((want.shape[0], want.shape[1], 3), dtype=np.int16)
            d.read_direct(out)
            np.testing.assert_array_equal(out, want.astype(np.int16))
            mask = f["Camera/00/mask/2"]
            np.testing.assert_array_equal(mask[5:9, 100:], expected(
                oracle()[("renderme_sample.smc", "/Camera/00/mask/2", "mask")])[5:9, 100:])

    def test_non_frames_unchanged(self):
        entries = oracle()
        frames = {(e[0], e[1]) for e in entries.values() if e[4] == "ok"}
        dump = """
            import pickle, sys, h5py, numpy as np
            out = {}
            with h5py.File(sys.argv[1], "r") as f:
                def visit(name, obj):
                    key = "/" + name
                    out[key + "@attrs"] = {k: obj.attrs[k] for k in obj.attrs}
                    if isinstance(obj, h5py.Dataset):
                        out[key] = obj[()]
                f.visititems(visit)
                out["/@attrs"] = {k: f.attrs[k] for k in f.attrs}
            sys.stdout.buffer.write(pickle.dumps(out))
        """
        for name in SAMPLES:
            plain = pickle.loads(without_connector(dump, sample(name)))
            compared = 0
            with h5py.File(sample(name), "r") as f:
                for key, value in plain.items():
                    path, _, what = key.partition("@")
                    obj = f[path]
                    if what == "attrs":
                        self.assertEqual(sorted(obj.attrs), sorted(value), key)
                        for k, v in value.items():
                            np.testing.assert_array_equal(obj.attrs[k], v, err_msg=f"{key} {k}")
                    elif (name, path) not in frames:
                        got = obj[()]
                        self.assertEqual(got.dtype, value.dtype, path)
                        np.testing.assert_array_equal(got, value, err_msg=path)
                        compared += 1
            self.assertGreater(compared, 5, name)

    def test_cut_frame_is_an_error(self):
        with open(os.path.join(env("H5IMG_CONFORMANCE_DIR"), "pngsuite", "basn2c08.png"), "rb") as f:
            png = f.read()
        path = os.path.join(env("H5IMG_TEST_DIR"), f"h5py_cut_{os.getpid()}.h5")
        without_connector("""
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], "w") as f:
                f["frames/cut"] = np.frombuffer(open(sys.argv[2], "rb").read(), dtype=np.uint8)[: int(sys.argv[3])]
        """, path, os.path.join(env("H5IMG_CONFORMANCE_DIR"), "pngsuite", "basn2c08.png"), str(len(png) * 2 // 3))
        with h5py.File(path, "r") as f:
            self.assertEqual(f["frames/cut"].shape, (32, 32, 3))
            with self.assertRaises(OSError) as caught:
                f["frames/cut"][()]
            self.assertIn("h5img: /frames/cut: cannot decode its PNG", str(caught.exception))
        os.unlink(path)

    def test_writes_refused(self):
        path = os.path.join(env("H5IMG_TEST_DIR"), f"h5py_write_{os.getpid()}.smc")
        shutil.copyfile(sample("renderme_sample.smc"), path)
        with h5py.File(path, "r+") as f:
            before = f["Camera/00/color/0"][()]
            with self.assertRaises(OSError) as caught:
                f["Camera/00/color/0"][0, 0, 0] = 7
            self.assertIn("writing refused", str(caught.exception))
            np.testing.assert_array_equal(f["Camera/00/color/0"][()], before)
            f["Calibration/00/K"][0, 0] = 42.0  # plain datasets stay writable
        with open(path, "rb") as a, open(sample("renderme_sample.smc"), "rb") as b:
            self.assertEqual(len(a.read()), len(b.read()))
        os.unlink(path)


class HeaderReadTest(unittest.TestCase):
    """The connector reads a frame's header straight from the file's descriptor only for a
    read-only sec2 file with contiguous storage (vol_prefix.c); every other storage and
    access must give the same view, and H5IMG_FORCE_PORTABLE=1 (HDF5's read path) too."""

    FRAME = "/Camera/25/color/1"

    def make_variants(self):
        path = os.path.join(env("H5IMG_TEST_DIR"), f"h5py_header_{os.getpid()}.h5")
        without_connector("""
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[2], "r") as source:
                data = source[sys.argv[3]][()]
            # A user block moves every address: the header's offset must include it.
            with h5py.File(sys.argv[1], "w", userblock_size=4096) as f:
                f["contiguous"] = data
                f.create_dataset("chunked", data=data, chunks=(4096,))
                f.create_dataset("compressed", data=data, chunks=(len(data),), compression="gzip")
                space = h5py.h5s.create_simple((len(data),))
                plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                plist.set_layout(h5py.h5d.COMPACT)
                h5py.h5d.create(f.id, b"compact", h5py.h5t.NATIVE_UINT8, space, plist).write(
                    h5py.h5s.ALL, h5py.h5s.ALL, data)
        """, path, sample("renderme_sample.smc"), self.FRAME)
        self.addCleanup(os.unlink, path)
        return path

    def check_views(self, f, want, how):
        for name in ("contiguous", "chunked", "compressed", "compact"):
            self.assertEqual(f[name].shape, want.shape, f"{name}, {how}")
            np.testing.assert_array_equal(f[name][()], want, err_msg=f"{name}, {how}")

    def test_every_storage_and_access_gives_the_same_view(self):
        want = expected(oracle()[("renderme_sample.smc", self.FRAME, "native")])
        path = self.make_variants()
        with h5py.File(path, "r") as f:
            self.check_views(f, want, "read-only")
        with h5py.File(path, "r+") as f:
            self.check_views(f, want, "read-write")
        with h5py.File(path, "r", driver="core") as f:
            self.check_views(f, want, "core driver")

    def test_hdf5_read_path_gives_the_same_view(self):
        want = expected(oracle()[("renderme_sample.smc", self.FRAME, "native")])
        path = self.make_variants()
        script = """
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], "r") as f:
                for name in ("contiguous", "chunked", "compressed", "compact"):
                    sys.stdout.buffer.write(f[name][()].tobytes())
        """
        environment = dict(os.environ, H5IMG_FORCE_PORTABLE="1")
        result = subprocess.run([sys.executable, "-c", textwrap.dedent(script), path], env=environment,
                                capture_output=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        self.assertEqual(result.stdout, want.tobytes() * 4)


if __name__ == "__main__":
    unittest.main()
