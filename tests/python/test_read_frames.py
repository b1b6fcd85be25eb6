"""h5img.read_frames (the C parallel reader through the plugin) equals OpenCV on every sample frame, legacy and
repacked, in the order asked, and names the file, path and reason of every frame it cannot give."""
import os
import warnings

import h5py
import numpy as np
import pytest

import h5img

BROKEN = ("dna_sample.smc", "Camera_5mp/01/color/2")  # h5_samples/README.md: a JPEG cut inside its header
RULES = {"native": "native", "colour": "color", "mask": "mask", "luma": "luma"}


def is_mask(name: str) -> bool:
    return any("mask" in part.lower() for part in name.split("/"))


def default_oracle(frames, oracle):
    """What the reader's default legacy layout must give: the mask rule on mask paths, native elsewhere."""
    masks = {n: b for n, b in frames.items() if is_mask(n)}
    others = {n: b for n, b in frames.items() if not is_mask(n)}
    return {**oracle(masks, "mask"), **oracle(others, "native")}


def assert_frames_equal(got, expected, names, what):
    compared = 0
    for name, image in zip(names, got):
        want = expected[name]
        if want is None:
            assert image is None, f"{what}:{name} decoded, but OpenCV refuses it"
            continue
        assert image is not None, f"{what}:{name} failed, but OpenCV decodes it"
        assert image.dtype == want.dtype and image.shape == want.shape, f"{what}:{name}: {image.shape} vs {want.shape}"
        assert np.array_equal(image, want), f"{what}:{name} differs from OpenCV"
        compared += 1
    return compared


def test_legacy_samples_default_rules_equal_opencv(legacy_frames, oracle):
    compared = 0
    for sample, frames in legacy_frames.items():
        names = sorted(frames)
        expected = default_oracle(frames, oracle)
        with h5py.File(h5img_sample(sample), "r") as f:
            got = h5img.read_frames(f, names, errors="none")
        compared += assert_frames_equal(got, expected, names, sample)
    assert compared >= 19, f"only {compared} frames compared"


def test_repacked_samples_equal_opencv(repacked, legacy_frames, oracle):
    """Repacked frames decode as their cd_values say; the broken frame stays raw bytes there and fails."""
    compared = 0
    for sample, frames in legacy_frames.items():
        names = sorted(frames)
        expected = default_oracle(frames, oracle)
        with h5py.File(repacked[sample], "r") as f:
            got = h5img.read_frames(f, names, errors="none")
            assert any(f[n].ndim > 1 for n in names), f"{sample}: nothing was repacked"
        compared += assert_frames_equal(got, expected, names, f"{sample} repacked")
    assert compared >= 19, f"only {compared} frames compared"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_overrides_legacy_frames(legacy_frames, oracle, rule):
    compared = 0
    for sample, frames in legacy_frames.items():
        names = sorted(frames)
        expected = oracle(frames, RULES[rule])
        with h5py.File(h5img_sample(sample), "r") as f:
            got = h5img.read_frames(f, names, rule=rule, errors="none")
        compared += assert_frames_equal(got, expected, names, f"{sample} under {rule}")
    assert compared >= 19


def test_rule_leaves_repacked_frames_as_stored(repacked):
    """A rule is for legacy bytes only: a repacked mask under rule="colour" is still what h5py reads."""
    names = ["Camera/25/mask/1", "Camera/00/color/0"]
    with h5py.File(repacked["renderme_sample.smc"], "r") as f:
        got = h5img.read_frames(f, names, rule="colour")
        for name, image in zip(names, got):
            assert np.array_equal(image, f[name][()]), name
    assert got[0].ndim == 2


def test_bgr_reverses_legacy_colour(legacy_frames):
    names = ["Camera/00/color/0", "Camera/25/mask/0"]
    with h5py.File(h5img_sample("renderme_sample.smc"), "r") as f:
        rgb = h5img.read_frames(f, names)
        bgr = h5img.read_frames(f, names, bgr=True)
    assert np.array_equal(rgb[0][:, :, ::-1], bgr[0])
    assert np.array_equal(rgb[1], bgr[1])


def test_mask_paths_are_masks_in_any_case(legacy_frames, oracle):
    """DNA-Rendering's masks live under Mask/<cam>/mask; mask/2 is a 3-channel JPEG that the mask rule reduces."""
    frames = legacy_frames["dna_sample.smc"]
    names = [n for n in sorted(frames) if n.startswith("Mask/")]
    assert len(names) >= 3
    with h5py.File(h5img_sample("dna_sample.smc"), "r") as f:
        got = h5img.read_frames(f, names)
    assert all(image.ndim == 2 for image in got)
    assert assert_frames_equal(got, oracle({n: frames[n] for n in names}, "mask"), names, "dna masks") == len(names)


def test_threads_one_and_two_give_the_same_frames_in_order(legacy_frames, repacked):
    """A batch much larger than the frames in flight (2 x threads), asked out of file order and with repeats."""
    frames = legacy_frames["renderme_sample.smc"]
    names = sorted(frames)
    batch = [names[(i * 7) % len(names)] for i in range(8 * len(names))]
    for path in (h5img_sample("renderme_sample.smc"), repacked["renderme_sample.smc"]):
        with h5py.File(path, "r") as f:
            one = h5img.read_frames(f, batch, threads=1)
            two = h5img.read_frames(f, batch, threads=2)
            each = {name: image for name, image in zip(names, h5img.read_frames(f, names))}
        assert len(one) == len(two) == len(batch)
        for i, name in enumerate(batch):
            assert np.array_equal(one[i], two[i]) and np.array_equal(one[i], each[name]), f"{path}:{name} (#{i})"
        assert len({id(a) for a in one}) == len(one), "each frame must be a new array"


def test_paths_relative_to_a_group_and_absolute():
    with h5py.File(h5img_sample("renderme_sample.smc"), "r") as f:
        direct = h5img.read_frames(f, ["Camera/25/mask/2"])[0]
        relative = h5img.read_frames(f["Camera/25"], ["mask/2"])[0]
        absolute = h5img.read_frames(f["Camera/25"], ["/Camera/25/mask/2"])[0]
    assert np.array_equal(direct, relative) and np.array_equal(direct, absolute)


def test_missing_path_names_file_path_and_cause():
    with h5py.File(h5img_sample("renderme_sample.smc"), "r") as f:
        with pytest.raises(h5img.DecodeError) as caught:
            h5img.read_frames(f["Camera"], ["00/mask/0", "00/mask/99", "00/mask/1"])
        # h5py still works afterwards: the reader leaves no HDF5 error state behind.
        assert f["Camera/00/mask/0"].shape[0] > 0
    text = str(caught.value)
    assert "renderme_sample.smc:/Camera/00/mask/99" in text and "doesn't exist" in text, text
    assert caught.value.path == "00/mask/99" and caught.value.index == 1


def test_not_an_image_dataset_fails():
    with h5py.File(h5img_sample("renderme_sample.smc"), "r") as f:
        with pytest.raises(h5img.DecodeError, match=r"Calibration/00/K: not an image dataset"):
            h5img.read_frames(f, ["Calibration/00/K"])
        with pytest.raises(h5img.DecodeError, match=r"/Camera: .*not a dataset"):
            h5img.read_frames(f, ["Camera"])


def test_samples_broken_frame_fails_naming_it():
    sample, name = BROKEN
    with h5py.File(h5img_sample(sample), "r") as f:
        with pytest.raises(h5img.DecodeError, match=f"{sample}:/{name}: JPEG header"):
            h5img.read_frames(f, ["Camera_5mp/01/color/0", name])


def corrupt_file(tmp_path, legacy_frames):
    """A legacy frame whose header is intact but whose data is cut, and a repacked one whose PNG CRC is broken."""
    mask = legacy_frames["renderme_sample.smc"]["Camera/00/mask/0"]
    colour = legacy_frames["renderme_sample.smc"]["Camera/00/color/0"]
    pixels = h5img.decode(mask, rule="mask")
    path = tmp_path / "corrupt.h5"
    with h5py.File(path, "w") as f:
        f["legacy/good"] = np.frombuffer(colour, np.uint8)
        f["legacy/cut"] = np.frombuffer(colour[: len(colour) // 2], np.uint8)
        f.create_dataset("repacked/good", data=pixels, chunks=pixels.shape, **h5img.PNG())
        chunk = bytearray(f["repacked/good"].id.read_direct_chunk((0, 0))[1])
        chunk[chunk.index(b"IDAT") + 10] ^= 0x55
        bad = f.create_dataset("repacked/crc", shape=pixels.shape, dtype=np.uint8, chunks=pixels.shape, **h5img.PNG())
        bad.id.write_direct_chunk((0, 0), bytes(chunk))
    return path


def test_corrupt_frames_fail_naming_their_path(tmp_path, legacy_frames):
    path = corrupt_file(tmp_path, legacy_frames)
    with h5py.File(path, "r") as f:
        with pytest.raises(h5img.DecodeError, match=r"corrupt.h5:/legacy/cut: .*JPEG") as caught:
            h5img.read_frames(f, ["legacy/good", "legacy/cut", "repacked/good"])
        assert caught.value.index == 1
        with pytest.raises(h5img.DecodeError, match=r"corrupt.h5:/repacked/crc: .*(CRC|IDAT)"):
            h5img.read_frames(f, ["repacked/good", "repacked/crc"])


def test_errors_none_and_warn_keep_the_other_frames(tmp_path, legacy_frames):
    path = corrupt_file(tmp_path, legacy_frames)
    names = ["legacy/cut", "legacy/good", "missing", "repacked/crc", "repacked/good"]
    with h5py.File(path, "r") as f:
        quiet = h5img.read_frames(f, names, errors="none")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loud = h5img.read_frames(f, names, errors="warn", threads=2)
        want_good = [f["repacked/good"][()]]
    for got in (quiet, loud):
        assert [image is None for image in got] == [True, False, True, True, False]
        assert np.array_equal(got[4], want_good[0])
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 3 and all("corrupt.h5:/" in m for m in messages), messages
    assert "/legacy/cut" in messages[0] and "/missing" in messages[1] and "/repacked/crc" in messages[2]


def test_arguments_are_checked():
    with h5py.File(h5img_sample("renderme_sample.smc"), "r") as f:
        assert h5img.read_frames(f, []) == []
        with pytest.raises(TypeError, match="not one string"):
            h5img.read_frames(f, "Camera/00/mask/0")
        with pytest.raises(TypeError):
            h5img.read_frames(f, [b"Camera/00/mask/0"])
        with pytest.raises(TypeError):
            h5img.read_frames(f["Camera/00/mask/0"], ["x"])
        with pytest.raises(ValueError, match="auto"):
            h5img.read_frames(f, ["Camera/00/mask/0"], rule="auto")
        with pytest.raises(ValueError, match="rule"):
            h5img.read_frames(f, ["Camera/00/mask/0"], rule="grey")
        with pytest.raises(ValueError, match="threads"):
            h5img.read_frames(f, ["Camera/00/mask/0"], threads=-1)
        with pytest.raises(ValueError, match="errors"):
            h5img.read_frames(f, ["Camera/00/mask/0"], errors="ignore")
        group = f["Camera"]
    with pytest.raises(ValueError, match="closed"):
        h5img.read_frames(group, ["00/mask/0"])


def h5img_sample(name):
    from conftest import SAMPLES

    return next(p for p in SAMPLES if p.name == name)


def test_reader_refuses_to_run_before_hdf5_loaded_the_plugin():
    """Loaded by ctypes alone, the plugin is bound to no HDF5: the run must fail saying so, never call into one."""
    from conftest import run_python

    code = f"""
import ctypes
lib = ctypes.CDLL({os.path.join(h5img.PLUGIN_PATH, "libh5img.so")!r})
lib.h5img_reader_new.restype = ctypes.c_void_p
lib.h5img_reader_message.restype = ctypes.c_char_p
lib.h5img_reader_message.argtypes = [ctypes.c_void_p]
options = (ctypes.c_char * 256)()
lib.h5img_reader_options_init(options)
reader = ctypes.c_void_p(lib.h5img_reader_new(options))
paths = (ctypes.c_char_p * 1)(b"x")
deliver = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(lambda user, frame: 0)
status = lib.h5img_reader_run(reader, ctypes.c_int64(1 << 56), paths, ctypes.c_size_t(1), deliver)
print(status, lib.h5img_reader_message(reader).decode())
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    status, message = result.stdout.split(" ", 1)
    assert int(status) == 13 and "bound to no HDF5 library" in message, result.stdout


def test_the_run_is_a_gil_releasing_call():
    """ctypes releases the GIL around calls of a CDLL's functions, and not of a PyDLL's: this guards that the
    reader is called the releasing way. (Whether another thread then makes progress is not tested: with the GIL
    also released inside the frame callbacks, no test of it could tell the two apart without timing.)"""
    import ctypes

    from h5img import _reader

    lib = _reader._lib()
    assert not lib._func_flags_ & ctypes._FUNCFLAG_PYTHONAPI
    assert not lib.h5img_reader_run._flags_ & ctypes._FUNCFLAG_PYTHONAPI
