"""h5img.decode on legacy SMC frames under every rule equals OpenCV (Debian's 4.6, which the rules are defined by)."""
import numpy as np
import pytest

import h5img


@pytest.mark.parametrize("rule", ["native", "colour", "mask", "luma"])
def test_every_sample_frame_every_rule(legacy_frames, oracle, rule):
    compared = 0
    oracle_rule = "color" if rule == "colour" else rule
    for sample, frames in legacy_frames.items():
        expected = oracle(frames, oracle_rule)
        for name, data in frames.items():
            want = expected[name]
            if want is None:  # the samples' broken frame (h5_samples/README.md): must fail here too
                with pytest.raises(h5img.DecodeError):
                    h5img.decode(data, rule=rule)
                continue
            got = h5img.decode(data, rule=rule)
            assert got.dtype == want.dtype and got.shape == want.shape, f"{sample}:{name}"
            assert np.array_equal(got, want), f"{sample}:{name} under {rule} differs from OpenCV"
            compared += 1
    assert compared >= 19


def test_bgr_is_opencvs_order(legacy_frames):
    sample, frames = next(iter(legacy_frames.items()))
    name, data = next((n, d) for n, d in frames.items() if "color" in n)
    rgb = h5img.decode(data, rule="colour")
    bgr = h5img.decode(data, rule="color", bgr=True)
    assert np.array_equal(rgb[:, :, ::-1], bgr)


def test_truncated_frame_fails_whole(legacy_frames):
    sample, frames = next(iter(legacy_frames.items()))
    data = next(d for n, d in frames.items() if "mask" in n)
    with pytest.raises(h5img.DecodeError):
        h5img.decode(data[: len(data) // 2], rule="mask")
