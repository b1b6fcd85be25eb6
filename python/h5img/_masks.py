"""Mask operations on decoded masks: n x n dilation exactly as cv2.dilate, COCO RLE exactly as pycocotools."""
from __future__ import annotations

import ctypes
import threading
from typing import Any, Mapping

import numpy as np

from ._plugin import library

_OK = 0
_MESSAGE_SIZE = 512
_MAX_DILATE = 1023
_lock = threading.Lock()
_ready: ctypes.CDLL | None = None


class MaskError(ValueError):
    """A mask operation refused its input (the message says why, with the numbers and, for RLE, the offset)."""


def _lib() -> ctypes.CDLL:
    """library() with the signatures of the mask functions declared once."""
    global _ready
    with _lock:
        if _ready is None:
            lib = library()
            lib.h5img_dilate.restype = ctypes.c_int
            lib.h5img_dilate.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32,
                                         ctypes.c_uint32, ctypes.c_char_p, ctypes.c_size_t]
            lib.h5img_rle_encode.restype = ctypes.c_int
            lib.h5img_rle_encode.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint,
                                             ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t),
                                             ctypes.c_char_p, ctypes.c_size_t]
            lib.h5img_rle_decode.restype = ctypes.c_int
            lib.h5img_rle_decode.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32, ctypes.c_uint32,
                                             ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
            lib.h5img_free.restype = None
            lib.h5img_free.argtypes = [ctypes.c_void_p]
            _ready = lib
        return _ready


def _mask_array(mask: Any, what: str) -> np.ndarray:
    array = np.asarray(mask)
    if array.dtype != np.uint8 or array.ndim != 2:
        raise TypeError(f"{what} needs a 2-D uint8 mask, not a {array.dtype} array of shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise MaskError(f"{what} of a {array.shape[1]}x{array.shape[0]} mask: a side is zero")
    return np.ascontiguousarray(array)


def _failed(message: ctypes.Array, status: int) -> MaskError:
    text = message.value.decode("utf-8", "replace")
    return MaskError(text or library().h5img_strerror(status).decode("utf-8", "replace"))


def dilate(mask: Any, n: int) -> np.ndarray:
    """Dilate a 2-D uint8 mask with an n x n square of ones, into a new array.

    Bit-identical to ``cv2.dilate(mask, np.ones((n, n), np.uint8))``: the window
    of pixel x is [x - n//2, x + n - 1 - n//2] along both axes, and pixels
    outside the mask never count. n runs from 1 (a copy) to 1023; the work per
    pixel grows with log2(n). Runs with the GIL released. Raises TypeError for
    anything but a 2-D uint8 array and MaskError for a bad n or a mask over
    h5img's pixel limit."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= _MAX_DILATE:
        raise MaskError(f"dilation kernel side {n!r} is outside 1..{_MAX_DILATE}")
    source = _mask_array(mask, "dilation")
    out = np.empty_like(source)
    message = ctypes.create_string_buffer(_MESSAGE_SIZE)
    status = _lib().h5img_dilate(source.ctypes.data, out.ctypes.data, source.shape[0], source.shape[1], int(n),
                                 message, _MESSAGE_SIZE)
    if status != _OK:
        raise _failed(message, status)
    return out


def rle_encode(mask: Any, threshold: int = 128) -> dict[str, Any]:
    """COCO run-length encoding of the foreground ``mask >= threshold`` of a 2-D uint8 mask.

    Returns ``{"size": [H, W], "counts": str}``, whose counts are byte for byte
    ``pycocotools.mask.encode(np.asfortranarray(fg.astype(np.uint8)))["counts"]``
    (decoded from ASCII): the dict can go straight into a COCO JSON file.
    threshold runs from 0 (everything foreground) to 255."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or not 0 <= threshold <= 255:
        raise MaskError(f"RLE threshold {threshold!r} is outside 0..255")
    source = _mask_array(mask, "RLE encoding")
    lib = _lib()
    text = ctypes.c_void_p()
    length = ctypes.c_size_t()
    message = ctypes.create_string_buffer(_MESSAGE_SIZE)
    status = lib.h5img_rle_encode(source.ctypes.data, source.shape[0], source.shape[1], int(threshold),
                                  ctypes.byref(text), ctypes.byref(length), message, _MESSAGE_SIZE)
    if status != _OK:
        raise _failed(message, status)
    try:
        counts = ctypes.string_at(text.value, length.value).decode("ascii")
    finally:
        lib.h5img_free(text)
    return {"size": [int(source.shape[0]), int(source.shape[1])], "counts": counts}


def rle_decode(rle: Mapping[str, Any]) -> np.ndarray:
    """Decode ``{"size": [H, W], "counts": str or bytes}`` (as rle_encode or pycocotools give it) into an
    (H, W) uint8 array of 0 and 1, as ``pycocotools.mask.decode`` does.

    The string is checked completely before it is trusted: a character outside
    '0'..'o', a count cut off at the end, a negative count or counts that do not
    add up to H x W raise MaskError naming the character offset."""
    try:
        height, width = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError) as error:
        raise MaskError(f'an RLE is a mapping with "size": [H, W] and "counts"; got {rle!r:.80}') from error
    if isinstance(counts, str):
        counts = counts.encode("utf-8")  # non-ASCII becomes bytes the decoder refuses, by offset
    if not isinstance(counts, (bytes, bytearray)):
        raise MaskError(f'RLE "counts" must be a string or bytes, not {type(counts).__name__} '
                        "(uncompressed lists of counts are not supported)")
    if height <= 0 or width <= 0 or height >= 1 << 32 or width >= 1 << 32:
        raise MaskError(f"RLE size {height}x{width} is not a mask size")
    out = np.empty((height, width), np.uint8)
    message = ctypes.create_string_buffer(_MESSAGE_SIZE)
    status = _lib().h5img_rle_decode(bytes(counts), len(counts), height, width, out.ctypes.data, out.nbytes,
                                     message, _MESSAGE_SIZE)
    if status != _OK:
        raise _failed(message, status)
    return out
