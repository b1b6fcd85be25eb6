"""The installed package carries the VOL connector in h5img.PLUGIN_PATH, and h5py reads legacy SMC frames through it, decoded as OpenCV does."""
from __future__ import annotations

import json
import os

import h5py
import numpy as np

import h5img

from conftest import SAMPLES, run_python

VOL_LIBRARY = os.path.join(h5img.PLUGIN_PATH, "libh5img_vol.so")

# A fresh interpreter: HDF5 reads HDF5_VOL_CONNECTOR once, when it starts.
READ_THROUGH_VOL = """
import json, sys, h5py, numpy as np
out = {}
with h5py.File(sys.argv[1] if len(sys.argv) > 1 else %r, "r") as f:
    for name in %r:
        d = f[name]
        out[name] = {"shape": list(d.shape), "dtype": str(d.dtype)}
        if d.ndim >= 2:
            try:
                np.save(%r + "/" + name.replace("/", "_") + ".npy", d[()])
            except OSError as e:
                out[name]["error"] = str(e)
print(json.dumps(out))
"""


def vol_env() -> dict[str, str]:
    env = dict(os.environ)
    env["HDF5_PLUGIN_PATH"] = h5img.PLUGIN_PATH
    env["HDF5_VOL_CONNECTOR"] = "h5img"
    return env


def test_plugin_path_holds_the_vol_connector():
    """PLUGIN_PATH is the directory HDF5_VOL_CONNECTOR=h5img needs: the connector is installed there."""
    assert os.path.isfile(VOL_LIBRARY), f"{VOL_LIBRARY} is missing from the installed package"


def test_legacy_frames_decode_through_the_vol(legacy_frames, oracle, tmp_path):
    """With HDF5 1.14 or newer, every legacy frame of the samples reads as the image OpenCV decodes
    (mask rule on mask paths, native elsewhere); HDF5 1.10 has no VOL layer, so there the
    variables change nothing and the frames stay 1-D bytes."""
    new_enough = h5py.version.hdf5_version_tuple >= (1, 14, 0)
    for sample in SAMPLES:
        frames = legacy_frames[sample.name]
        names = sorted(frames)
        result = run_python(READ_THROUGH_VOL % (str(sample), names, str(tmp_path)), env=vol_env())
        assert result.returncode == 0, result.stderr
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        if not new_enough:
            for name in names:
                assert seen[name]["shape"] == [len(frames[name])], (name, seen[name])
            continue
        masks = {n: b for n, b in frames.items() if "mask" in n.lower()}
        others = {n: b for n, b in frames.items() if n not in masks}
        expected = {**oracle(masks, "mask"), **oracle(others, "native")}
        for name in names:
            want = expected[name]
            if want is None:
                # OpenCV refuses it (the samples hold a truncated JPEG): through the connector it
                # is a read error or, when even its header does not parse, the 1-D bytes.
                assert "error" in seen[name] or seen[name]["shape"] == [len(frames[name])], (name, seen[name])
                continue
            assert "error" not in seen[name], (name, seen[name])
            got = np.load(tmp_path / (name.replace("/", "_") + ".npy"))
            assert got.shape == want.shape and got.dtype == want.dtype, (name, got.shape, want.shape)
            assert np.array_equal(got, want), f"{sample.name}:{name} differs from OpenCV through the VOL"
