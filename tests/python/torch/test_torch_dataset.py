"""The PyTorch example (python/examples/torch_smc_dataset.py) in a DataLoader with two workers, against OpenCV."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "python" / "examples"))
from torch_smc_dataset import SMCFrames  # noqa: E402


def test_two_workers_match_opencv(oracle):
    sample = ROOT / "h5_samples" / "renderme_sample.smc"
    dataset = SMCFrames([sample])
    assert len(dataset) >= 3, f"only {len(dataset)} colour/mask pairs in {sample}"
    import h5py

    with h5py.File(sample, "r") as f:
        colors = {color: f[color][()].tobytes() for _, _, color, _ in dataset.items}
        masks = {mask: f[mask][()].tobytes() for _, _, _, mask in dataset.items}
    want_color, want_mask = oracle(colors, "color"), oracle(masks, "mask")
    seen = 0
    for batch in DataLoader(dataset, batch_size=1, num_workers=2):
        index = seen
        _, camera, color_path, mask_path = dataset.items[index]
        assert batch["camera"][0] == camera
        assert batch["color"].dtype == torch.uint8 and batch["mask"].dtype == torch.uint8
        assert np.array_equal(batch["color"][0].numpy(), want_color[color_path]), color_path
        assert np.array_equal(batch["mask"][0].numpy(), want_mask[mask_path]), mask_path
        seen += 1
    assert seen == len(dataset)


def test_broken_frame_names_its_file(tmp_path):
    """A frame that does not decode fails in the worker with the file and dataset named."""
    import h5py

    path = tmp_path / "broken.smc"
    with h5py.File(path, "w") as f:
        f["Camera/00/color/0"] = np.frombuffer(b"\xff\xd8\xff\xe0" + bytes(60), np.uint8)
        f["Camera/00/mask/0"] = np.frombuffer(b"\x89PNG\r\n\x1a\n" + bytes(60), np.uint8)
    dataset = SMCFrames([path])
    assert len(dataset) == 1
    with pytest.raises(Exception, match="broken.smc"):
        next(iter(DataLoader(dataset, batch_size=1, num_workers=2)))
