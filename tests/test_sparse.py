"""``sparse12``: the strongest local-cosine coefficients with their bins, the residual's band
levels, noise filling, fractional bins, per-segment decoding and its learnt fill gain."""

from __future__ import annotations

import math

import pytest
import torch  # a hard dependency: a broken torch must fail, not skip

torch.set_num_threads(1)

from musiclatent.architectures.sparse import FILL_FLOOR, band_interpolation, mel_band_of_bins  # noqa: E402
from musiclatent.metrics.audio import si_sdr  # noqa: E402
from musiclatent.nn.modern_layers import lct_analysis, lct_matrices, lct_synthesis  # noqa: E402
from musiclatent.plugins import get_registry  # noqa: E402

SR = 22050
HOP = 384
P, B = 13, 6  # sparse12's peaks and residual bands: 2 * 13 + 6 = 32 channels


def _model(**overrides):
    return get_registry().architecture("sparse12").build(**overrides).eval()


def _tone(hz: float, samples: int, phase: float = 0.0) -> torch.Tensor:
    t = torch.arange(samples, dtype=torch.float64) / SR
    return torch.sin(2 * math.pi * hz * t + phase).float().reshape(1, 1, -1)


def _sparse_wave(frames: int, per_frame: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A wave whose local-cosine code has exactly ``per_frame`` non-zero bins in every frame."""
    gen = torch.Generator().manual_seed(seed)
    coeffs = torch.zeros(1, HOP, frames)
    for m in range(frames):
        bins = torch.randperm(HOP, generator=gen)[:per_frame]
        coeffs[0, bins, m] = torch.randn(per_frame, generator=gen).abs() + 0.5
    dct4, dct2 = lct_matrices(HOP)
    return lct_synthesis(coeffs, dct4, dct2), coeffs


def test_sparse12_is_one_twelfth_with_sorted_bins_and_their_coefficients():
    model = _model()
    assert (model.peaks, model.bands) == (P, B)
    assert model.latent_channels == 32 and model.encoding_scale(HOP * 1000) == 12.0
    x = 0.3 * torch.randn(2, 1, HOP * 20, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        z = model.encode(x)
    assert z.shape == (2, 32, 20)
    bins, values = z[:, :P], z[:, P:2 * P]
    assert torch.equal(bins, bins.round()) and bins.min() >= 0 and bins.max() <= HOP - 1
    assert bool((bins[:, 1:] > bins[:, :-1]).all())            # increasing, no bin twice
    coeffs = lct_analysis(x, model.dct4, model.dct2)
    torch.testing.assert_close(values, coeffs.gather(1, bins.long()))
    kept = values.abs().min(dim=1).values                      # the P largest: nothing uncoded is larger
    uncoded = coeffs.abs().scatter(1, bins.long(), 0.0)
    assert bool((uncoded.max(dim=1).values <= kept + 1e-6).all())


def test_a_code_with_few_enough_coefficients_round_trips_exactly():
    model = _model()
    x, _ = _sparse_wave(frames=24, per_frame=P)
    with torch.no_grad():
        y = model.decode(model.encode(x), length=x.shape[-1])
    assert float(si_sdr(x, y)) > 60.0  # nothing left to fill: only the 1e-5 floor is added


def test_residual_channels_are_the_log_rms_of_the_uncoded_bins_per_band():
    model = _model()
    x = 0.1 * torch.randn(1, 1, HOP * 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        z = model.encode(x)
    coeffs = lct_analysis(x, model.dct4, model.dct2)[0]
    band = mel_band_of_bins(HOP, B, SR)
    assert band[0] == 0 and band[-1] == B - 1 and bool((band[1:] >= band[:-1]).all())
    for m in (0, 5):
        uncoded = torch.ones(HOP, dtype=torch.bool)
        uncoded[z[0, :P, m].long()] = False
        for b in (0, 3, B - 1):
            sel = uncoded & (band == b)
            expected = 0.5 * math.log(float(coeffs[sel, m].pow(2).mean()) + FILL_FLOOR**2)
            assert float(z[0, 2 * P + b, m]) == pytest.approx(expected, rel=1e-4)


def test_the_fill_level_is_spread_over_the_bins_without_steps():
    band = mel_band_of_bins(HOP, 8, SR)  # any band count: 8 here
    spread = band_interpolation(band, 8)
    torch.testing.assert_close(spread.sum(dim=1), torch.ones(HOP))
    torch.testing.assert_close(spread @ torch.full((8,), 2.5), torch.full((HOP,), 2.5))  # a flat level stays flat
    ramp = spread @ torch.arange(8, dtype=torch.float32)
    assert bool((ramp[1:] >= ramp[:-1] - 1e-6).all())              # monotone between the band centres
    widths = torch.bincount(band, minlength=8).float()
    assert float((ramp[1:] - ramp[:-1]).max()) <= float(2 / widths[:2].sum()) + 1e-6  # no step of a whole band
    assert band_interpolation(band.clamp_max(0), 1).shape == (HOP, 1)


def test_noise_fill_puts_the_residual_back_at_the_learnt_level():
    """White noise, re-encoded after decoding: the residual band levels come back at the fill gain
    times the input's (equal at gain 1, 6 dB down at 0.5) and the coded coefficients keep their size."""
    x = 0.1 * torch.randn(1, 1, HOP * 64, generator=torch.Generator().manual_seed(3))
    for gain in (1.0, 0.5):
        model = _model(fill_gain=gain)
        with torch.no_grad():
            z = model.encode(x)
            y = model.decode(z, length=x.shape[-1])
            r = model.encode(y)
        level = (r[0, 2 * P:] - z[0, 2 * P:]).mean()  # the fill's level in the decoded audio vs the input's residual
        assert float(level) == pytest.approx(math.log(gain), abs=0.08)
        torch.testing.assert_close(r[:, P:2 * P].abs().mean(), z[:, P:2 * P].abs().mean(), rtol=0.15, atol=0)


def test_a_fractional_bin_is_split_between_its_two_neighbours():
    model = _model()
    z = torch.zeros(1, 32, 4)
    z[0, :P] = torch.arange(P, dtype=torch.float32)[:, None] * 20 + 10
    z[0, 0, :] = 10.25
    z[0, P:2 * P] = 0.0
    z[0, P, :] = 1.0
    z[0, 2 * P:] = -40.0  # no fill
    with torch.no_grad():
        y = model.decode(z)
    coeffs = lct_analysis(y, model.dct4, model.dct2)[0]
    torch.testing.assert_close(coeffs[10], torch.full((4,), 0.75), atol=1e-5, rtol=0)
    torch.testing.assert_close(coeffs[11], torch.full((4,), 0.25), atol=1e-5, rtol=0)
    assert float(coeffs.abs().sum()) == pytest.approx(1.0 * 4, abs=1e-4)


def test_decoding_is_deterministic_and_segments_join_without_a_seam():
    from musiclatent.latents.decode import frame_aligned

    model = _model()
    seg = HOP * 30
    x = 0.3 * _tone(97.0, 3 * seg, 0.2) + 0.2 * _tone(440.0, 3 * seg, 0.7) + 0.1 * _tone(2500.0, 3 * seg)
    with torch.no_grad():
        parts = [model.decode(model.encode(x[..., i * seg:(i + 1) * seg]), length=seg) for i in range(3)]
        again = model.decode(model.encode(x[..., :seg]), length=seg)
    assert torch.equal(parts[0], again)
    y = torch.cat(parts, dim=-1)
    assert float(si_sdr(x, y)) > 20.0
    err = (y - x).pow(2)[0, 0]
    for join in (seg, 2 * seg):  # within 10 ms of each join the error stays 12 dB under the signal
        near = err[join - 220:join + 220].mean()
        assert float(10 * torch.log10(x[..., join - 220:join + 220].pow(2).mean() / near)) > 12.0
    # The edge blocks of a segment are less sparse (no taper at an even edge: 97-98 % of a frame's
    # energy in its 13 largest bins there, 99.9 % inside), so their fill is louder; it stays a
    # fill at the residual's level, not a jump: the samples on either side of a join differ by
    # no more than the signal's own step there.
    for join in (seg, 2 * seg):
        assert float((y[..., join] - y[..., join - 1]).abs()) < 3 * float((x[..., join] - x[..., join - 1]).abs()) + 0.05
    assert not frame_aligned(model, seg, model.latent_shape(seg))  # decode_track goes segment by segment


def test_training_moves_the_fill_gain_and_nothing_else_is_learnt():
    from fit_helpers import fit_steps

    spec = get_registry().architecture("sparse12")
    model = spec.build(fill_gain=3.0)  # far too loud: the loss must bring it down
    assert [n for n, _ in model.named_parameters()] == ["log_fill_gain"]
    x = 0.2 * torch.randn(2, 1, HOP * 32, generator=torch.Generator().manual_seed(4))
    losses = fit_steps(model, x, spec.recipe["loss"], SR, lr=spec.recipe["lr"] * 5, steps=30)
    assert losses[-1] < 0.9 * losses[0]
    assert float(model.log_fill_gain.detach().mean()) < math.log(3.0) - 0.3


@pytest.mark.parametrize("bad", [{"hop": 383}, {"peaks": 0}, {"peaks": 384}, {"bands": 0}, {"fill_gain": 0.0}])
def test_bad_config_is_refused(bad):
    with pytest.raises(ValueError):
        _model(**bad)


@pytest.mark.parametrize("samples", [1, 100, HOP + 1])
def test_silence_and_short_inputs_give_finite_latents_and_near_silence(samples):
    """All-zero coefficients tie for 'largest': the code stays finite and decodes to the fill floor."""
    model = _model()
    x = torch.zeros(2, 1, samples)
    with torch.no_grad():
        z = model.encode(x)
        y = model.decode(z, length=samples)
    assert z.shape == (2, 32, math.ceil(samples / HOP)) and bool(torch.isfinite(z).all())
    assert bool((z[:, P:2 * P] == 0).all())
    assert y.shape == x.shape and float(y.abs().max()) < 1e-4


def _power_spectrum(wave: torch.Tensor, n: int = 2048) -> torch.Tensor:
    frames = wave.reshape(-1)[: wave.numel() // n * n].reshape(-1, n) * torch.hann_window(n)
    return torch.fft.rfft(frames).abs().pow(2).mean(dim=0)


def test_the_centre_of_one_latent_keeps_its_bins_levels_and_magnitudes():
    """Uncoded coefficients are never larger than the smallest coded one, so re-coding the power
    of one latent finds the same bins and the same band levels; only the signs are the fill's."""
    model = _model()
    with torch.no_grad():
        z = model.encode(_tone(440.0, 5 * HOP * 8) + 0.05 * torch.randn(1, 1, 5 * HOP * 8))
        c = model.mean_latent(z)
    assert c.shape == z.shape[1:]
    assert torch.equal(c[:P], z[0, :P])
    torch.testing.assert_close(c[P:2 * P].abs(), z[0, P:2 * P].abs())
    torch.testing.assert_close(c[2 * P:], z[0, 2 * P:], atol=1e-4, rtol=1e-4)


def test_a_centroid_keeps_the_loudness_and_spectrum_that_a_plain_mean_cancels():
    """Tones of different pitches and phases: the element-wise mean of their codes averages bin
    numbers and cancels signed values (a quiet floor); the power centre keeps every partial at its
    own frequency, at the tracks' mean power."""
    model = _model()
    n = HOP * 128
    noise = torch.Generator().manual_seed(0)
    waves = torch.cat([_tone(hz, n, phase) + 0.01 * torch.randn(1, 1, n, generator=noise)
                       for hz, phase in ((220.0, 0.0), (220.0, 1.7), (1000.0, 0.4), (1000.0, 2.9))])
    with torch.no_grad():
        z = model.encode(waves)
        centre = model.decode(model.mean_latent(z)[None], length=n)
        plain = model.decode(z.mean(dim=0, keepdim=True), length=n)
    rms = float(waves.pow(2).mean().sqrt())
    assert 0.7 * rms < float(centre.pow(2).mean().sqrt()) < 1.3 * rms
    assert float(plain.pow(2).mean().sqrt()) < 0.5 * rms
    spectrum = _power_spectrum(centre)
    hz_of_bin = SR / 2048
    for hz in (220.0, 1000.0):  # each partial sits where the tracks have it, far above the floor
        k = round(hz / hz_of_bin)
        assert float(spectrum[k - 2:k + 3].sum()) > 100 * float(spectrum[k + 40:k + 45].sum())
