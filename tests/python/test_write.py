"""Writing with **h5img.PNG() and **h5img.JPEG(): PNG is lossless, JPEG reads back as OpenCV decodes the stored chunk."""
import h5py
import numpy as np
import pytest

import h5img


def cd_values(dset):
    """The h5img filter's stored cd_values (h5py's compression_opts shows only filters it knows)."""
    return dset.id.get_create_plist().get_filter_by_id(h5img.FILTER_ID)[1]


def gradient(shape):
    """A smooth ramp: JPEG keeps it close, so a swapped or shifted channel would show."""
    grid = np.indices(shape).sum(axis=0)
    return (grid * 255 // max(1, grid.max())).astype(np.uint8)


@pytest.mark.parametrize("shape", [(48, 64), (48, 64, 3), (48, 64, 4)])
def test_png_round_trip(tmp_path, shape):
    data = gradient(shape)
    with h5py.File(tmp_path / "png.h5", "w") as f:
        f.create_dataset("img", data=data, chunks=shape, **h5img.PNG(level=9))
    with h5py.File(tmp_path / "png.h5", "r") as f:
        dset = f["img"]
        assert cd_values(dset)[3] == 0  # codec slot: PNG
        stored = dset.id.read_direct_chunk((0,) * len(shape))[1]
        assert stored[:8] == b"\x89PNG\r\n\x1a\n"
        assert np.array_equal(dset[()], data)


@pytest.mark.parametrize("shape, rule", [((48, 64), "mask"), ((48, 64, 3), "native")])
def test_jpeg_reads_as_opencv_decodes_it(tmp_path, oracle, shape, rule):
    data = gradient(shape)
    with h5py.File(tmp_path / "jpeg.h5", "w") as f:
        f.create_dataset("img", data=data, chunks=shape, **h5img.JPEG(quality=90))
    with h5py.File(tmp_path / "jpeg.h5", "r") as f:
        dset = f["img"]
        stored = bytes(dset.id.read_direct_chunk((0,) * len(shape))[1])
        got = dset[()]
    assert stored[:3] == b"\xff\xd8\xff"
    want = oracle({"img": stored}, rule)["img"]
    assert want is not None and np.array_equal(got, want)
    assert np.abs(got.astype(int) - data).max() < 24  # lossy, but the same picture


def test_bgr_flag(tmp_path):
    rgb = gradient((16, 24, 3))
    with h5py.File(tmp_path / "bgr.h5", "w") as f:
        f.create_dataset("img", data=rgb[:, :, ::-1], chunks=rgb.shape, **h5img.PNG(bgr=True))
        assert np.array_equal(f["img"][()], rgb[:, :, ::-1])
        assert cd_values(f["img"])[2] & 1  # the BGR flag


def test_filter_arguments():
    assert dict(h5img.PNG()) == {"compression": 49301, "compression_opts": (1, 0, 0, 0, 6)}
    assert dict(h5img.JPEG(quality=90, rule="colour")) == {"compression": 49301, "compression_opts": (1, 2, 0, 1, 90)}
    for bad in (0, 10, 2.5, True):
        with pytest.raises(ValueError, match="PNG level"):
            h5img.PNG(level=bad)
    for bad in (0, 101):
        with pytest.raises(ValueError, match="JPEG quality"):
            h5img.JPEG(quality=bad)
    with pytest.raises(ValueError, match="rule 'bogus'"):
        h5img.PNG(rule="bogus")
