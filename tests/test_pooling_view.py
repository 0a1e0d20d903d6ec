"""The ``meanstddelta`` pooling and the models' latent views (issue 14, item 5: latents that carry
music): exact statistics on hand-made latents, the view read from a table's metadata, a hostile
view refused with one line, and ``hybrid12`` declaring its own."""

from __future__ import annotations

import numpy as np
import pytest

from musiclatent.latents.errors import LatentTableError
from musiclatent.latents.pooling import (
    DEFAULT_POOLING,
    LOG_POWER_FLOOR,
    PoolingError,
    apply_view,
    check_view,
    pool_track,
    pooled_size,
)
from musiclatent.latents.reader import LatentTable
from musiclatent.testing.tables import write_synthetic_table


def test_default_pooling_adds_the_spread_of_frame_to_frame_changes():
    assert DEFAULT_POOLING == "meanstddelta"
    alternating = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])   # steps of -2, +2, -2, ...
    ramp = np.arange(6, dtype=float)                              # moves by exactly 1 every frame
    lat = np.stack([alternating, ramp])[None]                     # [1 segment, 2 channels, 6 frames]
    vec = pool_track(lat, "meanstddelta")
    assert vec.shape == (pooled_size((2, 6), "meanstddelta"),) == (6,)
    np.testing.assert_allclose(vec[:2], [0.0, 2.5])                               # means
    np.testing.assert_allclose(vec[2:4], [1.0, np.std(ramp)], rtol=1e-6)          # stds
    np.testing.assert_allclose(vec[4:], [np.std([-2, 2, -2, 2, -2]), 0.0], atol=1e-6)  # the ramp's step is constant
    assert vec[4] > 1.9
    wobble = np.stack([alternating, ramp + np.array([0, 1, 0, 1, 0, 1])])[None]
    assert pool_track(wobble, "meanstddelta")[5] == pytest.approx(np.std([2, 0, 2, 0, 2]))
    assert np.array_equal(pool_track(lat, "meanstd"), vec[:4])  # the first 2C are meanstd's


def test_a_single_frame_latent_has_no_movement():
    vec = pool_track(np.ones((2, 3, 1)), "meanstddelta")
    np.testing.assert_array_equal(vec, [1, 1, 1, 0, 0, 0, 0, 0, 0])


def test_log_power_view_reads_band_energy_not_sign():
    rng = np.random.default_rng(0)
    signs = rng.choice([-1.0, 1.0], size=(3, 2, 16))
    a = signs * 0.5                            # two waveform channels whose power is 0.25 throughout
    b = -a                                     # the same energy in the opposite phase
    env = rng.normal(size=(3, 1, 16))          # an envelope channel the view leaves alone
    view = {"log_power": [0, 2]}
    va, vb = (pool_track(np.concatenate([x, env], 1), "meanstd", view) for x in (a, b))
    np.testing.assert_allclose(va, vb)
    np.testing.assert_allclose(va[:2], np.log(0.25 + LOG_POWER_FLOOR))  # mean log power
    np.testing.assert_allclose(va[3:5], 0.0, atol=1e-12)                # constant energy
    assert va[2] == pytest.approx(env.mean(axis=2).mean())              # untouched channel
    plain = pool_track(np.concatenate([a, env], 1), "meanstd")
    assert abs(plain[0]) < 0.5 and plain[3] > 0.4  # without the view: about zero mean, unit-ish spread


def test_log_power_pairs_each_frame_with_the_next():
    x = np.array([[[2.0, 0.0, 0.0, 0.0]]])
    out = apply_view(x, {"log_power": [0, 1]})
    np.testing.assert_allclose(np.exp(out[0, 0]) - LOG_POWER_FLOOR, [2.0, 0.0, 0.0, 0.0], atol=1e-12)
    flat = pool_track(x, "flatten", {"log_power": [0, 1]})
    np.testing.assert_array_equal(flat, [2, 0, 0, 0])  # flatten is the latent itself


@pytest.mark.parametrize("bad", [{"log_power": [0, 9]}, {"log_power": [3, 3]}, {"log_power": "0:2"},
                                 {"log_power": [0.5, 2]}, {"other": [0, 1]}, [0, 2]])
def test_a_malformed_view_is_one_line(bad):
    with pytest.raises(PoolingError, match="latent view"):
        check_view(bad, channels=4)


def test_a_table_declares_its_view_and_pooling_follows_it(tmp_path):
    plain = LatentTable.open(write_synthetic_table(tmp_path / "plain.parquet"))
    viewed = LatentTable.open(write_synthetic_table(tmp_path / "viewed.parquet", latent_view={"log_power": [0, 2]}))
    assert plain.latent_view is None and viewed.latent_view == {"log_power": [0, 2]}
    X, tracks = plain.track_matrix()
    Y, _ = viewed.track_matrix()
    assert X.shape == Y.shape == (40, 12) and tracks.attrs["pooling"] == "meanstddelta"
    np.testing.assert_array_equal(X[:, [2, 3, 6, 7, 10, 11]], Y[:, [2, 3, 6, 7, 10, 11]])
    assert not np.allclose(X[:, :2], Y[:, :2])
    lat = viewed.track_latents(tracks["track_id"][0])
    np.testing.assert_allclose(Y[0], pool_track(lat, view={"log_power": [0, 2]}), rtol=1e-5)


def test_a_table_with_a_hostile_view_is_refused_on_opening(tmp_path):
    path = write_synthetic_table(tmp_path / "bad.parquet", latent_view={"log_power": [0, 99]})
    with pytest.raises(LatentTableError, match="bad latent_view"):
        LatentTable.open(path)


def test_hybrid12_declares_its_low_band_as_log_power_and_its_tables_carry_it():
    from musiclatent.latents.metadata import table_metadata
    from musiclatent.plugins import get_registry

    model = get_registry().architecture("hybrid12").build()
    assert model.latent_view == {"log_power": [0, model.low_bins]}
    assert check_view(model.latent_view, model.latent_channels) == model.latent_view
    meta = table_metadata(model, {"arch": "hybrid12"}, "ck.safetensors", "0" * 64, 5.0, "/corpus")
    assert meta["latent_view"] == model.latent_view
    mel = get_registry().architecture("mel12").build()
    assert mel.latent_view is None
    assert "latent_view" not in table_metadata(mel, {"arch": "mel12"}, "ck.safetensors", "0" * 64, 5.0, "/corpus")
