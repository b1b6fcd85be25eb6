"""h5img: h5py reads PNG/JPEG images stored in HDF5 files as pixel arrays.

``import h5img`` makes h5py's own HDF5 (a wheel's private copy, conda's or the
system's) load the h5img filter, so datasets written through it, or converted
from SMC files by ``h5imgrepack``, read as arrays::

    import h5img, h5py
    mask = h5py.File("renderme.h5img.h5")["Camera/25/mask/0"][()]

Legacy SMC files hold each frame as 1-D encoded bytes: ``h5img.decode(bytes,
rule="mask")`` decodes one with the filter's rules. ``h5img.dilate``,
``h5img.rle_encode`` and ``h5img.rle_decode`` are the mask operations, equal to
``cv2.dilate`` with an n x n square and to pycocotools' COCO RLE.

``h5img.read_frames(f, paths)`` reads and decodes many frames of one file at
once, legacy or repacked, on C threads with the GIL released.
"""
from ._decode import DecodeError, decode
from ._filters import JPEG, PNG
from ._masks import MaskError, dilate, rle_decode, rle_encode
from ._plugin import FILTER_ID, PLUGIN_PATH, H5imgError, last_error, register
from ._reader import read_frames

__version__ = "0.1.0"
__all__ = ["DecodeError", "FILTER_ID", "H5imgError", "JPEG", "MaskError", "PLUGIN_PATH", "PNG", "decode", "dilate",
           "last_error", "read_frames", "register", "rle_decode", "rle_encode", "__version__"]

register()
