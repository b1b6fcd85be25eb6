"""torch_smc_dataset.py: a PyTorch Dataset of (colour frame, mask) pairs read straight from legacy SMC files with h5img."""
from __future__ import annotations

import os
from typing import Iterable

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

import h5img


class SMCFrames(Dataset):
    """Every (camera, frame) of one or more RenderMe-360 / DNA-Rendering SMC files that has both a
    colour frame and a mask, as ``{"color": uint8 (H, W, 3) RGB, "mask": uint8 (H, W), "file", "camera",
    "frame"}``. Colour uses h5img's colour rule, masks the mask rule (the SMC readers'
    ``np.max(IMREAD_COLOR, axis=2)``), both bit-identical to OpenCV.

    Files are opened lazily in each process that reads: a ``DataLoader`` with ``num_workers > 0``
    forks workers, and HDF5 file handles must not be shared across a fork, so every worker opens
    its own. Frames that do not decode raise ``h5img.DecodeError`` naming the file and dataset."""

    def __init__(self, paths: Iterable[str | os.PathLike], camera_group: str | None = None):
        self.paths = [os.fspath(p) for p in paths]
        self.items: list[tuple[int, str, str, str]] = []  # (file index, camera, colour path, mask path)
        for index, path in enumerate(self.paths):
            with h5py.File(path, "r") as f:
                self.items.extend((index, cam, color, mask) for cam, color, mask in _pairs(f, camera_group))
        self._files: dict[int, h5py.File] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self.items)

    def _file(self, index: int) -> h5py.File:
        if self._pid != os.getpid():  # a forked worker: the parent's handles are not ours to use
            self._files, self._pid = {}, os.getpid()
        if index not in self._files:
            self._files[index] = h5py.File(self.paths[index], "r")
        return self._files[index]

    def __getitem__(self, i: int) -> dict:
        index, camera, color_path, mask_path = self.items[i]
        f = self._file(index)
        try:
            color = h5img.decode(f[color_path][()], rule="colour")
            mask = h5img.decode(f[mask_path][()], rule="mask")
        except h5img.DecodeError as error:
            raise h5img.DecodeError(f"{self.paths[index]}: {color_path} or {mask_path}: {error}") from error
        return {"color": torch.from_numpy(color), "mask": torch.from_numpy(mask), "file": self.paths[index],
                "camera": camera, "frame": color_path.rsplit("/", 1)[-1]}


def _pairs(f: h5py.File, camera_group: str | None):
    """(camera, colour dataset, mask dataset) for each frame present in both, in camera and frame order.
    RenderMe-360 keeps masks beside colour (Camera/<cam>/mask/<frame>); DNA-Rendering main files have
    colour only, so only frames with a mask are listed."""
    groups = [camera_group] if camera_group else [name for name in ("Camera", "Camera_5mp", "Camera_12mp") if name in f]
    for group in groups:
        for camera in sorted(f[group]):
            node = f[group][camera]
            if "color" not in node or "mask" not in node:
                continue
            frames = sorted(set(node["color"]) & set(node["mask"]), key=lambda name: (len(name), name))
            for frame in frames:
                yield camera, f"{group}/{camera}/color/{frame}", f"{group}/{camera}/mask/{frame}"


if __name__ == "__main__":
    import sys

    from torch.utils.data import DataLoader

    dataset = SMCFrames(sys.argv[1:])
    loader = DataLoader(dataset, batch_size=1, num_workers=2)
    for batch in loader:
        print(batch["file"][0], batch["camera"][0], batch["frame"][0], tuple(batch["color"].shape),
              int(np.count_nonzero(batch["mask"].numpy())))
