"""Decoding encoded PNG/JPEG bytes (a legacy SMC frame) into a numpy array with the filter's rules."""
from __future__ import annotations

import ctypes

import numpy as np

from ._filters import rule_value
from ._plugin import _Info, _Layout, library

_OK = 0
_FLAG_BGR = 0x1
_RULE_NATIVE, _RULE_COLOUR = 1, 2
_MESSAGE_SIZE = 512


class DecodeError(ValueError):
    """The bytes are not a PNG or JPEG that decodes exactly (the message says why, with the numbers)."""


def _status_text(status: int) -> str:
    return library().h5img_strerror(status).decode("utf-8", "replace")


def layout_for(info: _Info, value: int, bgr: bool) -> _Layout:
    """The layout an image with this header decodes to under rule number `value` (not AUTO); unchecked."""
    if value == _RULE_NATIVE:
        channels, element_size = info.channels, info.element_size
    elif value == _RULE_COLOUR:
        channels, element_size = 3, 1
    else:
        channels, element_size = 1, 1
    return _Layout(height=info.height, width=info.width, channels=channels, element_size=element_size, rule=value,
                   flags=_FLAG_BGR if bgr else 0)


def decode(data, rule: str = "native", bgr: bool = False) -> np.ndarray:
    """Decode one PNG or JPEG, as the filter would, into a new array.

    data: the encoded bytes (bytes, bytearray, memoryview or a 1-D uint8 array,
    such as ``f["Camera/25/mask/0"][()]`` of a legacy SMC file).
    rule: "native" (channels and depth as stored, uint16 for 16-bit PNG: OpenCV's
    IMREAD_UNCHANGED), "colour"/"color" (3-channel uint8: IMREAD_COLOR), "mask"
    (1-channel uint8: the maximum over IMREAD_COLOR's channels, what the reference
    SMC readers compute) or "luma" (IMREAD_GRAYSCALE).
    bgr: BGR(A) channel order, as OpenCV returns it, instead of RGB(A).

    Returns (H, W) for one channel, else (H, W, C). Raises DecodeError for
    anything that does not decode exactly (truncated, corrupt, not PNG/JPEG);
    the header is checked against h5img's limits before anything is allocated.
    The decode runs with the GIL released, so threads decode in parallel."""
    value = rule_value(rule)
    if value == 0:
        raise ValueError('rule "auto" needs a dataset to choose from; give "native", "colour", "mask" or "luma"')
    encoded = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    if encoded.dtype != np.uint8 or encoded.ndim != 1:
        raise TypeError(f"data must be 1-D uint8 bytes, not a {encoded.dtype} array of shape {encoded.shape}")
    encoded = np.ascontiguousarray(encoded)
    if encoded.size == 0:
        raise DecodeError("no bytes to decode")
    lib = library()
    info = _Info()
    status = lib.h5img_probe(encoded.ctypes.data, encoded.size, ctypes.byref(info))
    if status != _OK:
        head = " ".join(f"{b:02x}" for b in encoded[:4])
        raise DecodeError(f"{encoded.size} bytes starting {head}: {_status_text(status)}")
    layout = layout_for(info, value, bgr)
    channels, element_size = layout.channels, layout.element_size
    status = lib.h5img_layout_check(ctypes.byref(layout))
    if status != _OK:
        raise DecodeError(f"a {info.width}x{info.height} image with {channels} channel(s) cannot be decoded here: "
                          f"{_status_text(status)}")
    shape = (info.height, info.width) if channels == 1 else (info.height, info.width, channels)
    out = np.empty(shape, dtype=np.uint16 if element_size == 2 else np.uint8)
    message = ctypes.create_string_buffer(_MESSAGE_SIZE)
    status = lib.h5img_decode(encoded.ctypes.data, encoded.size, ctypes.byref(layout), out.ctypes.data, out.nbytes,
                              message, _MESSAGE_SIZE)
    if status != _OK:
        raise DecodeError(message.value.decode("utf-8", "replace") or _status_text(status))
    return out
