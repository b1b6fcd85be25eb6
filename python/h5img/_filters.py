"""Compression arguments for h5py's create_dataset, in the style of hdf5plugin: ``**h5img.PNG(level=6)``."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Iterator

from ._plugin import FILTER_ID

_CD_VERSION = 1
_CODEC_PNG, _CODEC_JPEG = 0, 1
_FLAG_BGR = 0x1
#: Output rules of the filter, by name; "auto" lets set_local pick from the dataset.
RULE_VALUES = {"auto": 0, "native": 1, "colour": 2, "color": 2, "mask": 3, "luma": 4}


def rule_value(rule: str) -> int:
    """The cd_values number of a rule name, or ValueError naming the choices."""
    try:
        return RULE_VALUES[rule]
    except (KeyError, TypeError):
        raise ValueError(f"rule {rule!r} is not one of {', '.join(sorted(RULE_VALUES))}") from None


class _Filter(Mapping):
    """``compression`` and ``compression_opts`` for h5py. The dataset's chunk
    must be one image, ``chunks=(H, W)``, ``(H, W, C)`` or ``(1, H, W, C)`` for
    a stack: h5py's guessed chunks are not, and the filter says so."""

    filter_id: int = FILTER_ID

    def __init__(self, codec: int, level: int, rule: str, bgr: bool):
        self.filter_options = (_CD_VERSION, rule_value(rule), _FLAG_BGR if bgr else 0, codec, level)

    def __getitem__(self, key: str):
        return {"compression": self.filter_id, "compression_opts": self.filter_options}[key]

    def __iter__(self) -> Iterator[str]:
        return iter(("compression", "compression_opts"))

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        return f"{type(self).__name__}(compression={self.filter_id}, compression_opts={self.filter_options})"


class PNG(_Filter):
    """Lossless PNG chunks: ``f.create_dataset("mask", data=m, chunks=m.shape, **h5img.PNG(level=6))``.

    level: zlib level 1-9. rule: what reads return ("auto" picks mask for one
    channel, colour for three, native otherwise and for uint16). bgr: the data
    is in BGR(A) order, as OpenCV returns it."""

    def __init__(self, level: int = 6, rule: str = "auto", bgr: bool = False):
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 9:
            raise ValueError(f"PNG level {level!r} is not an integer from 1 to 9")
        super().__init__(_CODEC_PNG, level, rule, bgr)


class JPEG(_Filter):
    """Lossy JPEG chunks (uint8, 1 or 3 channels): ``**h5img.JPEG(quality=90)``.

    quality: 1-100. rule and bgr as for PNG."""

    def __init__(self, quality: int = 95, rule: str = "auto", bgr: bool = False):
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise ValueError(f"JPEG quality {quality!r} is not an integer from 1 to 100")
        super().__init__(_CODEC_JPEG, quality, rule, bgr)
