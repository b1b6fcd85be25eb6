"""import h5img alone makes h5py (whichever HDF5 it carries) read repacked SMC frames, equal to OpenCV."""
import os

import h5py
import numpy as np

from conftest import run_python


def is_mask(name: str) -> bool:
    return any("mask" in part for part in name.split("/"))


def test_no_environment_needed():
    """The import must do everything: no HDF5_PLUGIN_PATH, no HDF5_VOL_CONNECTOR in this process."""
    assert "HDF5_PLUGIN_PATH" not in os.environ
    import h5img

    assert h5py.h5z.filter_avail(h5img.FILTER_ID)
    assert h5img.FILTER_ID == 49301
    assert os.path.isfile(os.path.join(h5img.PLUGIN_PATH, "libh5img.so"))


def test_repacked_samples_equal_opencv(repacked, legacy_frames, oracle):
    import h5img  # noqa: F401

    compared = 0
    for sample, frames in legacy_frames.items():
        masks = {n: b for n, b in frames.items() if is_mask(n)}
        others = {n: b for n, b in frames.items() if not is_mask(n)}
        expected = {**oracle(masks, "mask"), **oracle(others, "native")}
        with h5py.File(repacked[sample], "r") as f:
            for name, want in expected.items():
                got = f[name][()]
                if want is None:  # the samples' one broken frame: h5imgrepack keeps it as its bytes
                    assert got.ndim == 1 and got.tobytes() == frames[name], f"{sample}:{name} should stay raw"
                    continue
                assert got.dtype == want.dtype and got.shape == want.shape, f"{sample}:{name}: {got.shape} vs {want.shape}"
                assert np.array_equal(got, want), f"{sample}:{name} differs from OpenCV"
                compared += 1
    assert compared >= 19, f"only {compared} frames compared"


def test_only_h5pys_own_hdf5_is_loaded(repacked):
    """Reading through the plugin must not pull in a second HDF5 (Debian's libhdf5_serial, say)."""
    sample = repacked["renderme_sample.smc"]
    code = f"""
import h5img, h5py
with h5py.File({str(sample)!r}, "r") as f:
    f["Camera/00/mask/0"][()]
maps = [line.split()[-1] for line in open("/proc/self/maps") if "libhdf5" in line and ".so" in line]
print("\\n".join(sorted(set(p for p in maps if "_hl" not in p.rsplit("/", 1)[-1]))))
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    libraries = result.stdout.split()
    assert len(libraries) == 1, f"more than one HDF5 mapped: {libraries}"
    assert "HDF5-DIAG" not in result.stderr, result.stderr
