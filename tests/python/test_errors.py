"""Failures through h5py name their cause: a corrupt chunk (via h5img.last_error()), a refused dataset, bad bytes."""
import h5py
import numpy as np
import pytest

import h5img


def png_bytes(tmp_path):
    data = (np.arange(32 * 40) % 256).astype(np.uint8).reshape(32, 40)
    with h5py.File(tmp_path / "ok.h5", "w") as f:
        f.create_dataset("img", data=data, chunks=data.shape, **h5img.PNG())
        return bytes(f["img"].id.read_direct_chunk((0, 0))[1])


def test_corrupt_chunk_is_an_oserror_with_its_cause(tmp_path):
    good = bytearray(png_bytes(tmp_path))
    idat = good.index(b"IDAT")
    good[idat + 10] ^= 0x55  # inside the compressed data: the chunk's CRC no longer matches
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        dset = f.create_dataset("img", shape=(32, 40), dtype=np.uint8, chunks=(32, 40), **h5img.PNG())
        dset.id.write_direct_chunk((0, 0), bytes(good))
    with h5py.File(tmp_path / "bad.h5", "r") as f:
        with pytest.raises(OSError):
            f["img"][()]
        reason = h5img.last_error()
    assert "PNG" in reason and ("IDAT" in reason or "CRC" in reason), reason
    # A later success clears it for this thread.
    with h5py.File(tmp_path / "ok.h5", "r") as f:
        f["img"][()]
    assert h5img.last_error() == ""


def test_refused_dataset_names_the_reason(tmp_path):
    with h5py.File(tmp_path / "int32.h5", "w") as f:
        with pytest.raises((ValueError, OSError)):
            f.create_dataset("img", data=np.zeros((8, 8), np.int32), chunks=(8, 8), **h5img.PNG())
    assert "h5img stores uint8 or uint16" in h5img.last_error()


def test_decode_rejects_what_is_not_an_image():
    with pytest.raises(h5img.DecodeError, match="neither PNG nor JPEG|starting 00 01 02 03"):
        h5img.decode(bytes(range(16)), rule="mask")
    with pytest.raises(h5img.DecodeError, match="no bytes"):
        h5img.decode(b"")
    with pytest.raises(ValueError, match="auto"):
        h5img.decode(b"\x89PNG\r\n\x1a\n", rule="auto")
    with pytest.raises(TypeError):
        h5img.decode(np.zeros((4, 4), np.uint8))
