"""Fixtures for the h5img Python package tests: sample files, their repacked twins and the OpenCV oracle."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "h5_samples").glob("*.smc"))
DEBIAN_PYTHON = "/usr/bin/python3"  # Debian's, with OpenCV 4.6: the rules are defined against it


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set (scripts/test.sh sets it)", pytrace=False)
    return value


def image_datasets(path: Path) -> dict[str, bytes]:
    """Every 1-D uint8 dataset of a legacy file whose bytes start like a PNG or JPEG."""
    frames: dict[str, bytes] = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and obj.dtype == np.uint8 and obj.size > 8:
            data = obj[()].tobytes()
            if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff":
                frames[name] = data

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return frames


@pytest.fixture(scope="session")
def legacy_frames() -> dict[str, dict[str, bytes]]:
    assert SAMPLES, f"no samples in {ROOT / 'h5_samples'}"
    return {path.name: image_datasets(path) for path in SAMPLES}


@pytest.fixture(scope="session")
def repacked(tmp_path_factory) -> dict[str, Path]:
    """The samples converted by the project's own h5imgrepack: made here with H5IMG_TOOLS_DIR's tool,
    or made beforehand in H5IMG_REPACKED_DIR (scripts/test-python.sh, for runs without the codec libraries)."""
    ready = os.environ.get("H5IMG_REPACKED_DIR")
    if ready:
        files = {path.name: Path(ready) / (path.stem + ".h5img.h5") for path in SAMPLES}
        missing = [str(p) for p in files.values() if not p.is_file()]
        assert not missing, f"H5IMG_REPACKED_DIR lacks {missing}"
        return files
    tool = Path(required_env("H5IMG_TOOLS_DIR")) / "h5imgrepack"
    out = tmp_path_factory.mktemp("repacked")
    files = {}
    for path in SAMPLES:
        target = out / (path.stem + ".h5img.h5")
        subprocess.run([str(tool), "-q", str(path), str(target)], check=True)
        files[path.name] = target
    return files


@pytest.fixture(scope="session")
def oracle(tmp_path_factory):
    """oracle(dict of name -> encoded bytes, rule) -> dict of name -> OpenCV's array (None where it fails).

    Results are kept by content in H5IMG_ORACLE_CACHE when it is set, so that a run where
    Debian's OpenCV cannot load (scripts/without-libs.sh hides libraries it links) reuses what an
    earlier run computed; an input missing from the cache is computed, or fails, as usual."""
    work = tmp_path_factory.mktemp("oracle")
    cache = Path(os.environ["H5IMG_ORACLE_CACHE"]) if os.environ.get("H5IMG_ORACLE_CACHE") else None
    counter = iter(range(1 << 30))

    def cached(data: bytes, rule: str) -> Path | None:
        return cache / f"{hashlib.sha256(data).hexdigest()}.{rule}.npy" if cache else None

    def decode(encoded: dict[str, bytes], rule: str) -> dict[str, np.ndarray | None]:
        results: dict[str, np.ndarray | None] = {}
        todo = {}
        for name, data in encoded.items():
            path = cached(data, rule)
            if path and path.is_file():
                image = np.load(path)
                results[name] = None if image.size == 0 else image
            else:
                todo[name] = data
        if todo:
            n = next(counter)
            keys = {f"k{i}": name for i, name in enumerate(todo)}
            source, target = work / f"in{n}.npz", work / f"out{n}.npz"
            np.savez(source, **{k: np.frombuffer(todo[name], np.uint8) for k, name in keys.items()})
            subprocess.run([DEBIAN_PYTHON, str(Path(__file__).with_name("oracle_decode.py")), str(source),
                            str(target), rule], check=True)
            result = np.load(target)
            for k, name in keys.items():
                ok = bool(result[k + ".ok"])
                results[name] = result[k] if ok else None
                path = cached(todo[name], rule)
                if path:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    np.save(path, result[k] if ok else np.zeros(0, np.uint8))
        return results

    return decode


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter of this venv, capturing its output."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
