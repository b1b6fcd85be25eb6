"""The installed HDF5 plugin: where it is, its C API through ctypes, and making h5py's HDF5 load it."""
from __future__ import annotations

import ctypes
import os
import threading

#: The directory holding the h5img HDF5 plugins (``libh5img.so``); give it to
#: other HDF5 clients as ``HDF5_PLUGIN_PATH``.
PLUGIN_PATH: str = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins")

#: The HDF5 filter ID of h5img (private range, not yet registered with The HDF Group).
FILTER_ID: int = 49301

_FILTER_LIBRARY = os.path.join(PLUGIN_PATH, "libh5img.so")


class H5imgError(RuntimeError):
    """The plugin is missing, or HDF5 could not load it."""


class _Info(ctypes.Structure):
    """h5img_info of include/h5img.h."""

    _fields_ = [(name, ctypes.c_uint32) for name in (
        "codec", "width", "height", "channels", "bit_depth", "element_size", "color_type", "interlaced")]


class _Layout(ctypes.Structure):
    """h5img_layout of include/h5img.h."""

    _fields_ = [(name, ctypes.c_uint32) for name in (
        "height", "width", "channels", "element_size", "rule", "flags")]


_lock = threading.Lock()
_library: ctypes.CDLL | None = None


def library() -> ctypes.CDLL:
    """The plugin as a C library. It is the same loaded copy HDF5 uses (the
    dynamic loader hands out one copy per file), so its per-thread state, such
    as h5img_last_error(), is the filter's own."""
    global _library
    with _lock:
        if _library is None:
            if not os.path.isfile(_FILTER_LIBRARY):
                raise H5imgError(f"the h5img plugin is missing: no {_FILTER_LIBRARY} (reinstall h5img)")
            lib = ctypes.CDLL(_FILTER_LIBRARY)
            lib.h5img_last_error.restype = ctypes.c_char_p
            lib.h5img_last_error.argtypes = []
            lib.h5img_strerror.restype = ctypes.c_char_p
            lib.h5img_strerror.argtypes = [ctypes.c_int]
            lib.h5img_probe.restype = ctypes.c_int
            lib.h5img_probe.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(_Info)]
            lib.h5img_layout_check.restype = ctypes.c_int
            lib.h5img_layout_check.argtypes = [ctypes.POINTER(_Layout)]
            lib.h5img_decode.restype = ctypes.c_int
            lib.h5img_decode.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(_Layout), ctypes.c_void_p,
                                         ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
            _library = lib
        return _library


def last_error() -> str:
    """The reason the calling thread's last h5img filter call failed ("" after a
    success). HDF5 1.14 and later do not pass a filter's own message on to
    h5py's ``OSError`` when a chunk fails to decode; this function tells it."""
    return library().h5img_last_error().decode("utf-8", "replace")


def register() -> None:
    """Make h5py's HDF5 (whichever one h5py carries) load the h5img filter.

    The plugin directory goes first on HDF5's plugin path: HDF5 1.10 stops
    searching at the first directory that does not exist, so appending it
    behind Debian's (usually absent) default would not work there. Then the
    filter is looked up once, which makes HDF5 load the plugin, and the
    plugin binds to that HDF5. Called by ``import h5img``; calling it again
    does nothing."""
    import h5py

    library()  # fails early, naming the file, when the plugin is missing
    wanted = PLUGIN_PATH.encode()
    present = [h5py.h5pl.get(i) for i in range(h5py.h5pl.size())]
    if wanted not in present:
        h5py.h5pl.prepend(wanted)
    if not h5py.h5z.filter_avail(FILTER_ID):
        reason = last_error() or "HDF5 did not say why"
        raise H5imgError(f"HDF5 {h5py.version.hdf5_version} (h5py {h5py.__version__}) could not load the h5img "
                         f"filter from {PLUGIN_PATH}: {reason}")
