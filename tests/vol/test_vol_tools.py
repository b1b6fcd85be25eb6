#!/usr/bin/python3
"""test_vol_tools.py: HDF5 1.14.6's h5ls and h5dump through the h5img VOL connector (HDF5_VOL_CONNECTOR=h5img).

Frames list and dump as their decoded images (h5dump's binary output compared
with OpenCV's decode), everything else lists and dumps exactly as without the
connector, the storage section of `h5dump -p` keeps describing the stored
bytes, and a frame that cannot be decoded makes h5dump fail with h5img's
reason. CTest sets HDF5_PLUGIN_PATH, HDF5_VOL_CONNECTOR, H5IMG_HDF5_1146_PREFIX,
H5IMG_VOL_ORACLE_DIR, H5IMG_SAMPLES_DIR, H5IMG_TEST_DIR and H5IMG_CONFORMANCE_DIR.
"""
import os
import re
import subprocess
import unittest

import h5py
import numpy as np


def env(name):
    value = os.environ.get(name)
    if not value:
        raise AssertionError(f"environment variable {name} is not set (run through ctest)")
    return value


def tool(name):
    path = os.path.join(env("H5IMG_HDF5_1146_PREFIX"), "bin", name)
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is missing: HDF5 1.14.6 must be built (../shared/hdf5/build.sh)")
    return path


def run(args, connector=True):
    environment = dict(os.environ)
    if not connector:
        environment.pop("HDF5_VOL_CONNECTOR", None)
    return subprocess.run(args, env=environment, capture_output=True, text=True, timeout=120)


def oracle():
    frames = {}
    with open(os.path.join(env("H5IMG_VOL_ORACLE_DIR"), "manifest.tsv")) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 10 and fields[3] == "1":
                frames[(fields[0], fields[1])] = fields
    if not frames:
        raise AssertionError("the VOL oracle lists no frames")
    return frames


SAMPLES = ("dna_sample.smc", "renderme_sample.smc")


def sample(name):
    return os.path.join(env("H5IMG_SAMPLES_DIR"), name)


class ListingTest(unittest.TestCase):
    """h5ls -r: frames show their image's shape, all other lines are untouched."""

    def test_h5ls_shapes(self):
        frames = oracle()
        for name in SAMPLES:
            through = run([tool("h5ls"), "-r", sample(name)])
            plain = run([tool("h5ls"), "-r", sample(name)], connector=False)
            self.assertEqual(through.returncode, 0, through.stderr)
            self.assertEqual(plain.returncode, 0, plain.stderr)
            a, b = through.stdout.splitlines(), plain.stdout.splitlines()
            self.assertEqual(len(a), len(b))
            changed = 0
            for line_a, line_b in zip(a, b):
                path = line_a.split()[0]
                entry = frames.get((name, path))
                if entry and entry[4] == "ok" and "same as" not in line_a:
                    h, w, c = entry[5], entry[6], entry[7]
                    want = f"Dataset {{{h}, {w}}}" if c == "1" else f"Dataset {{{h}, {w}, {c}}}"
                    self.assertIn(want, line_a, f"{name} {path}")
                    changed += 1
                else:
                    self.assertEqual(line_a, line_b, f"{name}: a line that is no frame changed")
            self.assertGreater(changed, 15, name)


class InfoStringTest(unittest.TestCase):
    """HDF5_VOL_CONNECTOR with an info string: the usual form, and a rule override."""

    def h5ls(self, connector, path):
        environment = dict(os.environ, HDF5_VOL_CONNECTOR=connector)
        result = subprocess.run([tool("h5ls"), sample("renderme_sample.smc") + path], env=environment,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_usual_form(self):
        self.assertIn("Dataset {134, 160, 3}", self.h5ls("h5img under_vol=0;under_info={}", "/Camera/00/color/0"))

    def test_rules_override(self):
        connector = "h5img under_vol=0;under_info={};rules=Camera/*/color/*:mask,Camera/00/color/1:keep"
        self.assertIn("Dataset {134, 160}", self.h5ls(connector, "/Camera/00/color/0"))
        self.assertIn("Dataset {9913}", self.h5ls(connector, "/Camera/00/color/1"))

    def test_bad_rule_refused(self):
        """A rule that does not parse stops the connector from being set up, and says why.

        (HDF5 1.14's h5ls then goes on through the native connector: that is the library's choice.)"""
        environment = dict(os.environ, HDF5_VOL_CONNECTOR="h5img rules=Camera/*:sharpen")
        result = subprocess.run([tool("h5ls"), sample("renderme_sample.smc") + "/Camera/00/color/0"], env=environment,
                                capture_output=True, text=True, timeout=60)
        self.assertIn('rule "Camera/*:sharpen" is not PATTERN:RULE', result.stderr)
        self.assertNotIn("{134, 160, 3}", result.stdout)


class DumpTest(unittest.TestCase):
    def test_frame_values_match_opencv(self):
        """h5dump -b writes each frame's decoded bytes; they are OpenCV's."""
        frames = oracle()
        out = os.path.join(env("H5IMG_TEST_DIR"), "h5dump.bin")
        checked = 0
        for (name, path), entry in sorted(frames.items()):
            if entry[4] != "ok":
                continue
            result = run([tool("h5dump"), "-d", path, "-b", "NATIVE", "-o", out, sample(name)])
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(out, "rb") as f:
                got = f.read()
            with open(os.path.join(env("H5IMG_VOL_ORACLE_DIR"), entry[9]), "rb") as f:
                want = f.read()
            self.assertEqual(got, want, f"{name} {path}")
            checked += 1
        self.assertGreater(checked, 35)

    def test_header_and_storage(self):
        """-H shows the decoded type and space; -p keeps the stored bytes' storage and no filter."""
        result = run([tool("h5dump"), "-p", "-H", "-d", "/Kinect/00/depth_png/0", sample("dna_sample.smc")])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("DATATYPE  H5T_STD_U16LE", result.stdout)
        self.assertIn("DATASPACE  SIMPLE { ( 96, 128 ) / ( 96, 128 ) }", result.stdout)
        self.assertRegex(result.stdout, r"CONTIGUOUS\s+SIZE 9834")
        self.assertNotIn("FILTERS {\n      COMPRESSION", result.stdout)

    def test_non_frames_dump_unchanged(self):
        """Datasets and attributes that are no frames dump byte for byte as without the connector."""
        for name, objects in (("renderme_sample.smc", ["-d", "/Camera_info", "-d", "/Scan/vertex", "-d", "/Scan/empty",
                                                       "-d", "/Calibration/00/K", "-a", "/actor_id", "-a", "/notes",
                                                       "-g", "/Calibration"]),
                              ("dna_sample.smc", ["-d", "/Kinect/00/depth/0", "-d", "/Keypoints_3D",
                                                  "-d", "/Camera_5mp/01/color/2"])):
            through = run([tool("h5dump")] + objects + [sample(name)])
            plain = run([tool("h5dump")] + objects + [sample(name)], connector=False)
            self.assertEqual(through.returncode, 0, through.stderr)
            self.assertEqual(through.stdout, plain.stdout, name)

    def test_undecodable_frame_fails_with_reason(self):
        """A frame whose PNG data is cut: h5dump fails, and the error stack names h5img's reason."""
        with open(os.path.join(env("H5IMG_CONFORMANCE_DIR"), "pngsuite", "basn2c08.png"), "rb") as f:
            png = f.read()
        path = os.path.join(env("H5IMG_TEST_DIR"), "tools_cut.h5")
        with h5py.File(path, "w") as f:
            f["cut"] = np.frombuffer(png[: len(png) * 2 // 3], dtype=np.uint8)
        result = run([tool("h5dump"), "--enable-error-stack", "-d", "/cut", path])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("h5img: /cut: cannot decode its PNG", result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()
