#!/usr/bin/python3
"""test_dump_masks.py: h5imgdump --dilate and --format coco-rle against cv2.dilate and pycocotools, and --preview against cv2 INTER_AREA, on both layouts."""
import glob
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import cv2
import h5py
import numpy as np

DUMP = os.environ.get("H5IMGDUMP", "")
REPACK = os.environ.get("H5IMGREPACK", "")
SAMPLES = os.environ.get("H5IMG_SAMPLES", "")
# The first venv python of H5IMG_WHEEL_PYTHONS: pycocotools comes from PyPI and lives there.
COCO_PYTHON = os.environ.get("H5IMG_COCO_PYTHON", "")
RENDERME, DNA = "renderme_sample.smc", "dna_sample.smc"
BROKEN = "Camera_5mp/01/color/2"  # cut inside its header on purpose (h5_samples/README.md)

# Reads an .npz of foreground masks, prints {name: pycocotools counts} as JSON.
COCO_SCRIPT = """
import json, sys
import numpy as np
from pycocotools import mask as coco
masks = np.load(sys.argv[1])
print(json.dumps({k: coco.encode(np.asfortranarray(masks[k]))["counts"].decode("ascii") for k in masks.files}))
"""


def run(*args):
    return subprocess.run([DUMP, *args], capture_output=True, text=True, timeout=300)


def stored_frames(path):
    """{path: encoded bytes} of the legacy file's image datasets."""
    frames = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and obj.dtype == np.uint8 and obj.size > 8:
            data = obj[()].tobytes()
            if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff":
                frames[name] = data

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return frames


def cv2_mask(data):
    """The mask rule, as the reference SMC readers compute it."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else image.max(axis=2)


def cv2_rgb(data):
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def padded(path, ext):
    head, last = os.path.split(path)
    return os.path.join(head, last.zfill(6) + ext)


def rms(a, b):
    return float(np.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


class DumpMasksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        base = os.environ.get("H5IMG_TEST_TMP") or tempfile.gettempdir()
        os.makedirs(base, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="test_dump_masks-", dir=base)
        cls.legacy = {name: os.path.join(SAMPLES, name) for name in (RENDERME, DNA)}
        cls.repacked = {}
        for name, path in cls.legacy.items():
            target = os.path.join(cls.tmp, name.replace(".smc", ".h5img.h5"))
            done = subprocess.run([REPACK, "-q", path, target], capture_output=True, text=True, timeout=300)
            assert os.path.exists(target), done.stderr
            cls.repacked[name] = target
        cls.frames = {name: stored_frames(path) for name, path in cls.legacy.items()}
        cls.big = os.path.join(cls.tmp, "big.smc")
        cls.big_frames = cls.make_big(cls.big)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @staticmethod
    def make_big(path):
        """Four cameras of 1224x1024 JPEG frames (DCT scaling at 1/2, 1/4 and 1/8 all apply) with PNG masks."""
        import skimage.data

        frames = {}
        with h5py.File(path, "w") as f:
            for cam, source in enumerate(("astronaut", "coffee", "chelsea", "rocket")):
                image = getattr(skimage.data, source)()[:, :, :3]
                big = cv2.resize(np.ascontiguousarray(image), (1224, 1024), interpolation=cv2.INTER_CUBIC)
                bgr = cv2.cvtColor(big, cv2.COLOR_RGB2BGR)
                for i in range(2):
                    frame = np.roll(bgr, 37 * i, axis=1)
                    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
                    f[f"Camera/{cam:02d}/color/{i}"] = np.frombuffer(data.tobytes(), np.uint8)
                    frames[f"Camera/{cam:02d}/color/{i}"] = data.tobytes()
                    mask = (cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) > 100).astype(np.uint8) * 255
                    ok, data = cv2.imencode(".png", mask)
                    f[f"Camera/{cam:02d}/mask/{i}"] = np.frombuffer(data.tobytes(), np.uint8)
                    frames[f"Camera/{cam:02d}/mask/{i}"] = data.tobytes()
        return frames

    def outdir(self, name):
        path = os.path.join(self.tmp, name)
        shutil.rmtree(path, ignore_errors=True)
        return path

    def written(self, out):
        return sorted(os.path.relpath(p, out) for p in glob.glob(os.path.join(out, "**", "*"), recursive=True)
                      if os.path.isfile(p))

    def mask_paths(self, name):
        return sorted(p for p in self.frames[name] if "mask" in p.lower())

    # ---- --dilate ----

    def test_dilate_every_side_matches_cv2_legacy(self):
        """Every N from 1 to 63 on every mask frame of both samples; colour frames untouched."""
        for name in (RENDERME, DNA):
            masks = {p: cv2_mask(self.frames[name][p]) for p in self.mask_paths(name)}
            for n in range(1, 64):
                out = self.outdir(f"dilate-{n}")
                done = run("--extract", out, "--format", "npy", "--dilate", str(n), "--select", "**/mask/*",
                           self.legacy[name])
                self.assertEqual(done.returncode, 0, done.stderr)
                for path, mask in masks.items():
                    got = np.load(os.path.join(out, padded(path, ".npy")))
                    want = cv2.dilate(mask, np.ones((n, n), np.uint8), iterations=1)
                    self.assertTrue(np.array_equal(got, want), f"{name}:{path}, N = {n}")
        self.assertGreater(len(masks), 5)

    def test_dilate_repacked_matches_legacy_and_leaves_colour_alone(self):
        for name in (RENDERME, DNA):
            for n in (2, 15, 40):
                a, b = self.outdir("dl-legacy"), self.outdir("dl-repacked")
                self.assertIn(run("-x", a, "-f", "npy", "--dilate", str(n), self.legacy[name]).returncode, (0, 2))
                self.assertIn(run("-x", b, "-f", "npy", "--dilate", str(n), self.repacked[name]).returncode, (0, 2))
                plain = self.outdir("dl-plain")
                run("-x", plain, "-f", "npy", self.legacy[name])
                compared = 0
                for path, data in self.frames[name].items():
                    rel = padded(path, ".npy")
                    if not os.path.exists(os.path.join(a, rel)):
                        continue  # the broken frame
                    got_legacy, got_repacked = np.load(os.path.join(a, rel)), np.load(os.path.join(b, rel))
                    self.assertTrue(np.array_equal(got_legacy, got_repacked), f"{name}:{path}")
                    if "mask" in path.lower():
                        want = cv2.dilate(cv2_mask(data), np.ones((n, n), np.uint8))
                        self.assertTrue(np.array_equal(got_repacked, want), f"{name}:{path}, N = {n}")
                    else:
                        self.assertTrue(np.array_equal(got_legacy, np.load(os.path.join(plain, rel))), path)
                    compared += 1
                self.assertGreater(compared, 10)

    def test_dilate_png_output_matches_too(self):
        out = self.outdir("dilate-png")
        self.assertEqual(run("-x", out, "-f", "png", "--dilate", "8", "-s", "Camera/25/mask/*",
                             self.legacy[RENDERME]).returncode, 0)
        for path in ("Camera/25/mask/0", "Camera/25/mask/2"):
            got = cv2.imread(os.path.join(out, padded(path, ".png")), cv2.IMREAD_UNCHANGED)
            want = cv2.dilate(cv2_mask(self.frames[RENDERME][path]), np.ones((8, 8), np.uint8))
            self.assertTrue(np.array_equal(got, want), path)

    # ---- --format coco-rle ----

    def coco_counts(self, masks):
        """pycocotools' counts strings for {name: 0/1 mask}."""
        self.assertTrue(COCO_PYTHON, "H5IMG_COCO_PYTHON is not set: pycocotools is in the venvs of "
                                     "H5IMG_WHEEL_PYTHONS (scripts/setup-venv.sh); configure with them")
        source = os.path.join(self.tmp, "coco-in.npz")
        np.savez(source, **{f"k{i}": m for i, m in enumerate(masks.values())})
        done = subprocess.run([COCO_PYTHON, "-c", COCO_SCRIPT, source], capture_output=True, text=True, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr)
        counts = json.loads(done.stdout)
        return {name: counts[f"k{i}"] for i, name in enumerate(masks)}

    def test_coco_rle_is_pycocotools_byte_for_byte(self):
        """Both layouts, thresholds and dilation (which comes first): every mask frame's .json."""
        expected_masks, outputs = {}, {}
        for name in (RENDERME, DNA):
            for layout, path in (("legacy", self.legacy[name]), ("repacked", self.repacked[name])):
                for threshold, n in ((None, None), ("1", None), ("255", None), ("128", "15"), ("200", "4")):
                    out = self.outdir(f"rle-{name}-{layout}-{threshold}-{n}")
                    args = ["-x", out, "--format", "coco-rle"]
                    args += ["--threshold", threshold] if threshold else []
                    args += ["--dilate", n] if n else []
                    done = run(*args, path)
                    self.assertEqual(done.returncode, 0, done.stderr)
                    masks = self.mask_paths(name)
                    self.assertEqual(self.written(out), sorted(padded(p, ".json") for p in masks))
                    for p in masks:
                        mask = cv2_mask(self.frames[name][p])
                        if n:
                            mask = cv2.dilate(mask, np.ones((int(n), int(n)), np.uint8))
                        key = f"{name}:{p}:{threshold}:{n}"
                        expected_masks[key] = (mask >= int(threshold or 128)).astype(np.uint8)
                        outputs.setdefault(key, []).append(os.path.join(out, padded(p, ".json")))
        expected = self.coco_counts(expected_masks)
        for key, files in outputs.items():
            for file in files:
                with open(file) as f:
                    rle = json.load(f)
                self.assertEqual(rle["size"], list(expected_masks[key].shape), file)
                self.assertEqual(rle["counts"], expected[key], file)
        self.assertGreater(len(outputs), 80)

    def test_coco_rle_select_and_nothing_but_masks(self):
        out = self.outdir("rle-select")
        self.assertEqual(run("-x", out, "-f", "coco-rle", "-s", "Camera/00/**", self.legacy[RENDERME]).returncode, 0)
        self.assertEqual(self.written(out), [f"Camera/00/mask/00000{i}.json" for i in range(3)])
        done = run("-x", self.outdir("rle-none"), "-f", "coco-rle", "-s", "Camera/00/color/*", self.legacy[RENDERME])
        self.assertEqual(done.returncode, 1)
        self.assertIn("no mask dataset", done.stderr)

    # ---- --preview ----

    def preview(self, src, *args, expect=0):
        out = os.path.join(self.tmp, "sheet.png")
        if os.path.exists(out):
            os.remove(out)
        done = run("--preview", out, "--json", *args, src)
        self.assertEqual(done.returncode, expect, done.stderr)
        sheet = cv2.cvtColor(cv2.imread(out, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        tiles = json.loads(done.stdout)
        self.assertEqual(sheet.shape[:2], (tiles["height"], tiles["width"]))
        return sheet, tiles, done

    def check_tiles_close_to_area_resize(self, src, frames, frame, width, cameras):
        """Each tile against cv2.resize(INTER_AREA) of OpenCV's full decode: within a few grey levels RMS
        (DCT scaling and a second area pass are approximations), and far from the camera's other frame."""
        sheet, tiles, _ = self.preview(src, "--overlay", "none", "--frame", str(frame), "--tile-width", str(width))
        self.assertEqual([t["camera"] for t in tiles["tiles"]], cameras)
        worst, nearest_wrong = 0.0, 1e9
        for t in tiles["tiles"]:
            self.assertEqual(t["path"], f"{t['camera']}/color/{frame}")
            full = cv2_rgb(frames[t["path"]])
            h = int(full.shape[0] * width / full.shape[1] + 0.5)  # halves round up, as the tool does
            self.assertEqual((t["w"], t["h"]), (width, h), t)
            got = sheet[t["y"]:t["y"] + t["h"], t["x"]:t["x"] + t["w"]]
            worst = max(worst, rms(got, cv2.resize(full, (width, h), interpolation=cv2.INTER_AREA)))
            other = cv2_rgb(frames[t["path"][:-1] + ("1" if frame != 1 else "0")])
            nearest_wrong = min(nearest_wrong, rms(got, cv2.resize(other, (width, h), interpolation=cv2.INTER_AREA)))
        self.assertLess(worst, 5.0, f"{src} at width {width}")
        self.assertGreater(nearest_wrong, 2 * 5.0, f"{src} at width {width}: the frames are too alike to tell apart")
        return tiles

    def check_tiles_equal_reduced_decode(self, src, frames, frame, denominator):
        """A tile exactly 1/2, 1/4 or 1/8 as wide as its JPEG is the scaled decode itself: OpenCV's
        IMREAD_REDUCED_COLOR_<d>, which asks libjpeg for the same DCT scaling, pixel for pixel."""
        flag = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}[denominator]
        first = next(iter(frames.values()))
        width = cv2.imdecode(np.frombuffer(first, np.uint8), flag).shape[1]
        sheet, tiles, _ = self.preview(src, "--overlay", "none", "--frame", str(frame), "--tile-width", str(width))
        for t in tiles["tiles"]:
            reduced = cv2.cvtColor(cv2.imdecode(np.frombuffer(frames[t["path"]], np.uint8), flag), cv2.COLOR_BGR2RGB)
            self.assertEqual((t["h"], t["w"]), reduced.shape[:2], t)
            got = sheet[t["y"]:t["y"] + t["h"], t["x"]:t["x"] + t["w"]]
            self.assertTrue(np.array_equal(got, reduced), f"{src}:{t['path']} at 1/{denominator}")

    def test_preview_samples_both_layouts(self):
        cameras = ["Camera/00", "Camera/25", "Camera/59"]
        for src in (self.legacy[RENDERME], self.repacked[RENDERME]):
            for width in (56, 80, 120, 160, 320, 500):  # 320 is the default
                self.check_tiles_close_to_area_resize(src, self.frames[RENDERME], 1, width, cameras)
            for denominator in (2, 4, 8):
                self.check_tiles_equal_reduced_decode(src, self.frames[RENDERME], 1, denominator)

    def test_preview_full_size_frames_use_dct_scaling(self):
        """1224-pixel frames into 100-1224 pixel tiles: decoded at 1/8 up to full size, still close."""
        cameras = [f"Camera/{i:02d}" for i in range(4)]
        for width in (100, 153, 200, 306, 400, 612, 1224):
            tiles = self.check_tiles_close_to_area_resize(self.big, self.big_frames, 0, width, cameras)
            self.assertEqual(len(tiles["tiles"]), 4)
        frames = {p: d for p, d in self.big_frames.items() if "/color/0" in p}
        for denominator in (2, 4, 8):
            self.check_tiles_equal_reduced_decode(self.big, frames, 0, denominator)

    def test_preview_dna_layout_and_its_broken_frame(self):
        sheet, tiles, done = self.preview(self.legacy[DNA], "--frame", "2", "--tile-width", "160", expect=2)
        self.assertEqual([t["camera"] for t in tiles["tiles"]], ["Camera_5mp/00", "Camera_5mp/01", "Camera_12mp/48"])
        self.assertEqual([t["mask"] for t in tiles["tiles"]], ["Mask/00/mask/2", None, "Mask/48/mask/2"])
        self.assertIn(f"h5imgdump: error: {BROKEN}:", done.stderr)
        broken = tiles["tiles"][1]
        self.assertIn("truncated", broken["error"])
        self.assertNotIn("error", tiles["tiles"][0])
        _, tiles_repacked, _ = self.preview(self.repacked[DNA], "--frame", "2", "--tile-width", "160", expect=2)
        self.assertEqual(tiles_repacked["tiles"], tiles["tiles"])

    def test_preview_overlay_tints_only_the_mask(self):
        plain, tiles, _ = self.preview(self.legacy[RENDERME], "--overlay", "none", "--tile-width", "160")
        tinted, tiles2, _ = self.preview(self.legacy[RENDERME], "--tile-width", "160")
        self.assertEqual([t["mask"] for t in tiles2["tiles"]], ["Camera/00/mask/0", "Camera/25/mask/0", "Camera/59/mask/0"])
        self.assertEqual([t["mask"] for t in tiles["tiles"]], [None, None, None])
        for t in tiles2["tiles"]:
            mask = cv2_mask(self.frames[RENDERME][t["mask"]])  # 160 wide: the tile's own size
            region = (slice(t["y"], t["y"] + t["h"]), slice(t["x"], t["x"] + t["w"]))
            a, b = plain[region].astype(int), tinted[region].astype(int)
            self.assertTrue(np.array_equal(a[mask == 0], b[mask == 0]), t["camera"])
            self.assertGreater(np.abs(a - b)[mask == 255].mean(), 20, t["camera"])
            self.assertTrue((b[..., 1] >= a[..., 1])[mask == 255].all())  # tinted towards green

    def test_preview_names_are_drawn_under_the_tiles(self):
        sheet, tiles, _ = self.preview(self.legacy[RENDERME], "--tile-width", "160")
        for t in tiles["tiles"]:
            label = sheet[t["y"] + t["h"] + 1:t["y"] + t["h"] + 16, t["x"]:t["x"] + 80]
            bright = (label.min(axis=2) > 200).sum()
            self.assertGreater(bright, 60, t["camera"])  # "Camera/00" in light ink on the dark strip
            self.assertEqual((label.max(axis=2) < 40).sum() + bright + ((label.min(axis=2) <= 200) &
                             (label.max(axis=2) >= 40)).sum(), label.shape[0] * label.shape[1])

    def test_preview_errors(self):
        sheet = os.path.join(self.tmp, "bad.png")
        for args in (("--preview", sheet, "--extract", "d"), ("--frame", "1", self.legacy[RENDERME]),
                     ("--preview", sheet, "--tile-width", "8"), ("--preview", sheet, "--overlay", "edges"),
                     ("--preview", sheet, "--dilate", "3"), ("--preview", "", )):
            done = run(*args, self.legacy[RENDERME]) if args[-1] != self.legacy[RENDERME] else run(*args)
            self.assertEqual(done.returncode, 1, args)
            self.assertIn("h5imgdump: error:", done.stderr, args)
        no_cameras = os.path.join(self.tmp, "no_cameras.h5")
        with h5py.File(no_cameras, "w") as f:
            f["x"] = np.zeros(3)
        done = run("--preview", sheet, no_cameras)
        self.assertEqual(done.returncode, 1)
        self.assertIn("holds no camera frames", done.stderr)
        done = run("--preview", sheet, "--frame", "7", self.legacy[RENDERME])
        self.assertEqual(done.returncode, 2)
        self.assertIn("Camera/00 has no frame 7", done.stderr)

    # ---- usage ----

    def test_mask_option_errors(self):
        src = self.legacy[RENDERME]
        for args, says in ((("-x", "d", "--dilate", "3"), "--dilate needs decoded frames"),
                           (("-x", "d", "-f", "npy", "--dilate", "0"), "--dilate"),
                           (("-x", "d", "-f", "npy", "--dilate", "1024"), "--dilate"),
                           (("-x", "d", "-f", "npy", "--threshold", "3"), "--threshold applies only"),
                           (("-x", "d", "-f", "coco-rle", "--threshold", "256"), "--threshold"),
                           (("--dilate", "3",), "apply only with --extract")):
            done = run(*args, src)
            self.assertEqual(done.returncode, 1, args)
            self.assertIn("h5imgdump: error:", done.stderr, args)
            self.assertIn(says, done.stderr, args)

    def test_help_documents_the_options(self):
        done = run("--help")
        self.assertEqual(done.returncode, 0)
        for option in ("--dilate N", "--threshold T", "coco-rle", "--preview=OUT.png", "--frame N", "--tile-width W",
                       "--overlay mask|none", "DCT"):
            self.assertIn(option, done.stdout)


if __name__ == "__main__":
    unittest.main()
