"""Reading many frames of one open file at once: the C reader (h5img_reader_run) decodes them on its own threads."""
from __future__ import annotations

import ctypes
import posixpath
import threading
import warnings
from typing import Iterable, Literal

import numpy as np

from ._decode import DecodeError, layout_for
from ._filters import rule_value
from ._plugin import H5imgError, _Info, _Layout, library

_OK = 0
_E_ARGUMENT = 1
_FLAG_BGR, _FLAG_BIG_ENDIAN = 0x1, 0x2
_READ_DECODE = 0
_ERRORS = ("raise", "none", "warn")


class _Frame(ctypes.Structure):
    """h5img_frame of include/h5img.h."""

    _fields_ = [("index", ctypes.c_size_t), ("path", ctypes.c_char_p), ("storage", ctypes.c_int),
                ("codec", ctypes.c_int), ("encoded", ctypes.c_void_p), ("encoded_size", ctypes.c_size_t),
                ("layout", _Layout), ("pixels", ctypes.c_void_p), ("pixels_size", ctypes.c_size_t),
                ("status", ctypes.c_int), ("message", ctypes.c_char_p)]


_LAYOUT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(_Info),
                              ctypes.POINTER(_Layout))
_DELIVER_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_Frame))
_WORK_FN = ctypes.c_void_p  # never set from Python


class _Options(ctypes.Structure):
    """h5img_reader_options of include/h5img.h."""

    _fields_ = [("mode", ctypes.c_int), ("threads", ctypes.c_uint), ("max_in_flight", ctypes.c_uint),
                ("legacy_layout", _LAYOUT_FN), ("legacy_flags", ctypes.c_uint32), ("work", _WORK_FN),
                ("user", ctypes.c_void_p)]


_lock = threading.Lock()
_ready: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    """library() with the signatures of the reader functions declared once."""
    global _ready
    with _lock:
        if _ready is None:
            lib = library()
            lib.h5img_reader_options_init.restype = None
            lib.h5img_reader_options_init.argtypes = [ctypes.POINTER(_Options)]
            lib.h5img_reader_new.restype = ctypes.c_void_p
            lib.h5img_reader_new.argtypes = [ctypes.POINTER(_Options)]
            lib.h5img_reader_free.restype = None
            lib.h5img_reader_free.argtypes = [ctypes.c_void_p]
            lib.h5img_reader_message.restype = ctypes.c_char_p
            lib.h5img_reader_message.argtypes = [ctypes.c_void_p]
            lib.h5img_reader_run.restype = ctypes.c_int
            lib.h5img_reader_run.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p),
                                             ctypes.c_size_t, _DELIVER_FN]
            _ready = lib
        return _ready


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


def _array(frame: _Frame) -> np.ndarray:
    """A new array holding the frame's pixels: the one copy out of the reader's reused buffer."""
    layout = frame.layout
    if layout.element_size == 2:
        dtype = np.dtype(">u2" if layout.flags & _FLAG_BIG_ENDIAN else "<u2")
    else:
        dtype = np.dtype(np.uint8)
    shape = (layout.height, layout.width) if layout.channels == 1 else (layout.height, layout.width, layout.channels)
    out = np.empty(shape, dtype=dtype)
    if out.nbytes != frame.pixels_size or not frame.pixels:
        raise DecodeError(f"the reader delivered {frame.pixels_size} bytes for a {shape} {dtype} frame")
    ctypes.memmove(out.ctypes.data, frame.pixels, out.nbytes)
    return out


def _path_list(paths: Iterable[str]) -> list[str]:
    if isinstance(paths, (str, bytes)):
        raise TypeError("paths must be a sequence of dataset paths, not one string: read_frames(f, [path])")
    listed = list(paths)
    for path in listed:
        if not isinstance(path, str):
            raise TypeError(f"paths must be str, not {type(path).__name__} ({path!r})")
        if "\0" in path:
            raise ValueError(f"path {path!r} contains a NUL character")
    return listed


def read_frames(group, paths: Iterable[str], rule: str | None = None, *, bgr: bool = False, threads: int = 0,
                errors: Literal["raise", "none", "warn"] = "raise") -> list[np.ndarray | None]:
    """Read and decode many image datasets of one open file, decoding on C threads.

    group: an open ``h5py.File`` or ``h5py.Group``; `paths` are relative to it
    (absolute paths work too), e.g. ``[f"Camera/25/mask/{i}" for i in range(100)]``.
    Each dataset is either a legacy SMC frame (1-D uint8 holding the encoded
    PNG/JPEG bytes) or a repacked one (written through the h5img filter, e.g.
    by ``h5imgrepack``); both read the same way.

    rule: how legacy frames decode. None (the default) gives the ``mask`` rule
    to paths with a component containing "mask" (any case), what the reference
    SMC readers compute, and ``native`` to all others; "native", "colour"/
    "color", "mask" or "luma" (see ``h5img.decode``) applies that rule to every
    legacy frame. Repacked frames always decode as their dataset says (its
    cd_values), as ``f[path][()]`` would return them.
    bgr: legacy colour frames in BGR(A) order, as OpenCV returns them, instead
    of RGB(A).
    threads: decoding threads; 0 means one per online processor.
    errors: what a frame that cannot be read or decoded (missing, not an
    image, corrupt, truncated) does. "raise" (the default) stops at the first
    such frame in the order given and raises DecodeError naming the file, the
    path and the reason; its ``path`` and ``index`` attributes say which one.
    "none" puts None in its place; "warn" does too and issues a RuntimeWarning
    with the same sentence. H5imgError means the run itself could not go on
    (no thread could start, memory ran out, HDF5 has not loaded the plugin).

    Returns one new array per path, in the order given: (H, W) for one channel,
    else (H, W, C); uint8, or uint16 for 16-bit PNG. The HDF5 reads happen on
    the calling thread, one frame at a time, and decoding runs meanwhile on the
    worker threads, with a bounded number of frames in flight; each frame is
    copied once, from the reader's buffer into its array. The GIL is released
    for the whole run, but h5py's own lock is held (HDF5 is not thread-safe),
    so other threads can run Python and decode, but not use h5py, until it
    returns."""
    import h5py
    from h5py._objects import phil

    if not isinstance(group, h5py.Group):
        raise TypeError(f"group must be an open h5py File or Group, not {type(group).__name__}")
    if errors not in _ERRORS:
        raise ValueError(f"errors={errors!r} is not one of {', '.join(map(repr, _ERRORS))}")
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 0 <= threads <= 1024:
        raise ValueError(f"threads={threads!r} is not a number of threads from 0 (one per processor) to 1024")
    value = None if rule is None else rule_value(rule)
    if value == 0:
        raise ValueError('rule "auto" is for writing; give None (mask for mask paths, native otherwise), "native", '
                         '"colour", "mask" or "luma"')
    listed = _path_list(paths)
    if not listed:
        return []
    if not group.id.valid:
        raise ValueError("group is closed")
    where = group.file.filename
    base = group.name or "/"

    lib = _lib()
    results: list[np.ndarray | None] = [None] * len(listed)
    failures: list[DecodeError] = []
    raised: list[BaseException] = []

    def failure(frame: _Frame) -> DecodeError:
        index = frame.index
        path = listed[index]
        reason = _text(frame.message) or _text(library().h5img_strerror(frame.status))
        error = DecodeError(f"{where}:{posixpath.join(base, path)}: {reason}")
        error.path, error.index = path, index
        return error

    # Both callbacks run on this thread, inside h5img_reader_run, and take the
    # GIL back for their few lines; any exception stops the run and is raised
    # after it (an exception may not cross back into C).
    def deliver(_user, frame_pointer) -> int:
        try:
            frame = frame_pointer.contents
            if frame.status == _OK:
                results[frame.index] = _array(frame)
                return 0
            failures.append(failure(frame))
            return 1 if errors == "raise" else 0
        except BaseException as caught:  # noqa: B902 (KeyboardInterrupt included: stop, then raise it)
            raised.append(caught)
            return 1

    def choose_layout(_user, _path, info_pointer, layout_pointer) -> int:
        try:
            layout = layout_for(info_pointer.contents, value, bgr)
            layout_pointer.contents.height, layout_pointer.contents.width = layout.height, layout.width
            layout_pointer.contents.channels, layout_pointer.contents.element_size = layout.channels, layout.element_size
            layout_pointer.contents.rule, layout_pointer.contents.flags = layout.rule, layout.flags
            return lib.h5img_layout_check(layout_pointer)
        except BaseException as caught:  # noqa: B902
            raised.append(caught)
            return _E_ARGUMENT

    options = _Options()
    lib.h5img_reader_options_init(ctypes.byref(options))
    options.mode = _READ_DECODE
    options.threads = int(threads)
    options.legacy_flags = _FLAG_BGR if bgr else 0
    layout_callback = _LAYOUT_FN(choose_layout) if value is not None else None
    if layout_callback is not None:
        options.legacy_layout = layout_callback
    deliver_callback = _DELIVER_FN(deliver)
    encoded = [path.encode("utf-8") for path in listed]
    path_array = (ctypes.c_char_p * len(encoded))(*encoded)

    reader = lib.h5img_reader_new(ctypes.byref(options))
    if not reader:
        raise MemoryError("cannot create an h5img reader (out of memory)")
    try:
        # ctypes releases the GIL for the call, so other Python threads run
        # while the frames are read and decoded. HDF5 calls happen on this
        # thread only, and PyPI h5py's HDF5 is not thread-safe: h5py's global
        # lock (phil, the one every h5py call takes) is held throughout, so
        # no other thread's h5py call runs HDF5 concurrently.
        with phil:
            status = lib.h5img_reader_run(reader, group.id.id, path_array, len(encoded), deliver_callback)
        message = _text(lib.h5img_reader_message(reader))
    finally:
        lib.h5img_reader_free(reader)
    if raised:
        raise raised[0]
    if status != _OK:
        # Not one frame's failure: the run itself could not go on (threads, memory, no HDF5 bound).
        raise H5imgError(f"{where}: the h5img reader stopped: {message or _text(library().h5img_strerror(status))}")
    if errors == "raise" and failures:
        raise failures[0]
    if errors == "warn":
        for error in failures:
            warnings.warn(str(error), RuntimeWarning, stacklevel=2)
    return results
