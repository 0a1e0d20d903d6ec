"""``hybrid12``: the exact MDCT low band, the noise-phase head above it, and per-segment decoding."""

from __future__ import annotations

import math

import pytest
import torch  # a hard dependency: a broken torch must fail, not skip

torch.set_num_threads(1)

from musiclatent.metrics.audio import si_sdr  # noqa: E402
from musiclatent.nn.modern_layers import ISTFTHead, lct_analysis, lct_matrices, lct_synthesis  # noqa: E402
from musiclatent.plugins import get_registry  # noqa: E402

SR = 22050


def _tone(hz: float, samples: int, phase: float = 0.0) -> torch.Tensor:
    t = torch.arange(samples, dtype=torch.float64) / SR
    return torch.sin(2 * math.pi * hz * t + phase).float().reshape(1, 1, -1)


def _quiet_head(model):
    """The model with its learnt upper band silenced, so only the MDCT low band is heard."""
    with torch.no_grad():
        model.head.proj.weight.zero_()
        model.head.proj.bias.fill_(-30.0)
    return model.eval()


@pytest.mark.parametrize("blocks", [1, 2, 7])
def test_local_cosine_transform_is_orthonormal_and_exact(blocks):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 1, 384 * blocks, generator=g)
    mats = lct_matrices(384)
    c = lct_analysis(x, *mats)
    assert c.shape == (3, 384, blocks)
    assert torch.allclose(c.pow(2).sum(), x.pow(2).sum(), rtol=1e-4)  # Parseval: orthonormal
    assert torch.allclose(lct_synthesis(c, *mats), x, atol=1e-5)


def test_its_basis_is_smooth_and_even_at_the_segment_edges():
    mats = lct_matrices(384)
    for block, edge in ((0, slice(0, 3)), (3, slice(-3, None))):
        c = torch.zeros(1, 384, 4)
        c[0, 3, block] = 1.0
        y = lct_synthesis(c, *mats)[0, 0]
        assert (y[1:] - y[:-1]).abs().max() < 0.05 * y.abs().max()  # no jump anywhere, folds included
        assert y[edge].abs().min() > 0.9 * y.abs().max()  # full height at the edge: even, not odd (zero)


def test_low_bins_keep_the_band_below_the_crossover_and_drop_the_rest():
    mats = lct_matrices(384, 24)  # 24 * 22050 / 768 = 689 Hz
    low, high = _tone(220.0, 384 * 20), _tone(3000.0, 384 * 20)
    kept = lct_synthesis(lct_analysis(low + 0.5 * high, *mats), *mats)
    assert float(si_sdr(low, kept)) > 25.0
    removed = lct_synthesis(lct_analysis(high, *mats), *mats)
    assert removed.pow(2).mean() < 1e-3 * high.pow(2).mean()


def test_hybrid12_is_one_twelfth_and_round_trips_any_length():
    model = get_registry().architecture("hybrid12").build().eval()
    assert model.encoding_scale(384 * 1000) == pytest.approx(12.0)
    assert model.crossover_hz == pytest.approx(689.0625)
    assert model.joint_decode is False
    for length in (1, 383, 384, 1001, 22050):
        with torch.no_grad():
            z = model.encode(torch.randn(2, 1, length) * 0.1)
            y = model.decode(z, length=length)
        assert tuple(z.shape[1:]) == model.latent_shape(length)
        assert y.shape == (2, 1, length) and torch.isfinite(y).all()


def test_untrained_hybrid_already_keeps_the_low_band_waveform_exactly():
    model = _quiet_head(get_registry().architecture("hybrid12").build())
    bass = 0.3 * _tone(110.0, 22050, 0.3) + 0.2 * _tone(330.0, 22050, 1.1)
    with torch.no_grad():
        y = model.decode(model.encode(bass), length=bass.shape[-1])
    assert float(si_sdr(bass, y)) > 30.0  # phase and all, up to the segment's edges


def test_segments_decoded_one_by_one_join_without_a_seam():
    """Consecutive segments, each encoded and decoded on its own, rebuild the low band of the whole
    signal with no jump at the joins (what ``decode_track`` does when joint_decode is off)."""
    from musiclatent.latents.decode import frame_aligned

    model = _quiet_head(get_registry().architecture("hybrid12").build())
    seg = 384 * 30
    x = 0.3 * _tone(97.0, 3 * seg, 0.2) + 0.2 * _tone(440.0, 3 * seg, 0.7)
    with torch.no_grad():
        parts = [model.decode(model.encode(x[..., i * seg:(i + 1) * seg]), length=seg) for i in range(3)]
    y = torch.cat(parts, dim=-1)
    assert float(si_sdr(x, y)) > 30.0
    for join in (seg, 2 * seg):  # within 10 ms of each join the error stays 24 dB under the signal
        near = slice(join - 220, join + 220)
        snr = 10 * torch.log10(x[..., near].pow(2).sum() / (y - x)[..., near].pow(2).sum())
        assert float(snr) > 24.0  # (a periodic MDCT, whose wrap-around jump rings, gave 14-19 dB)
    assert not frame_aligned(model, seg, model.latent_shape(seg))  # decode_track goes segment by segment


def test_noise_phase_head_is_deterministic_and_silent_below_its_cut():
    n_fft, hop, frames = 768, 192, 30
    heads = [ISTFTHead(4, n_fft, hop, phase="noise", low_cut_bin=40) for _ in range(2)]
    heads[1].load_state_dict(heads[0].state_dict())
    feats = torch.randn(1, 4, frames)
    with torch.no_grad():
        a, b = heads[0](feats), heads[1](feats)
    assert torch.equal(a, b)  # same seed, same phases: decoding is reproducible
    spectrum = torch.fft.rfft(a.flatten()).abs().pow(2)
    cut_hz = 37 * SR / n_fft  # the ramp starts 2 bins below the cut... and one more for leakage
    freqs = torch.fft.rfftfreq(a.numel(), 1 / SR)
    assert spectrum[freqs < cut_hz - 60].sum() < 1e-3 * spectrum.sum()
    assert heads[0].proj.out_channels == n_fft // 2 + 1  # magnitudes only


def _hiss_over_bass(samples: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(1, 1, samples, generator=g)
    hiss = torch.fft.irfft(torch.fft.rfft(noise) * (torch.fft.rfftfreq(samples, 1 / SR) > 2000), n=samples)
    return 0.3 * _tone(150.0, samples) + 0.05 * hiss / hiss.std()


def _band_level(wave: torch.Tensor, above_hz: float) -> torch.Tensor:
    band = torch.fft.rfftfreq(wave.shape[-1], 1 / SR) > above_hz
    return torch.fft.rfft(wave.flatten()).abs().pow(2)[band].sum()


def test_envelope_channels_are_band_log_amplitudes():
    model = get_registry().architecture("hybrid12").build().eval()
    with torch.no_grad():
        silence = model.encode(torch.zeros(1, 1, 384 * 8))[:, model.low_bins:]
        loud = model.encode(torch.randn(1, 1, 384 * 8, generator=torch.Generator().manual_seed(0)) * 0.1)
    assert torch.allclose(silence, torch.full_like(silence, math.log(1e-5)), atol=1e-3)
    env = loud[:, model.low_bins:, 1:-1]
    assert env.shape[1] == 8
    # white noise: every band holds the same mean power per bin, so the log-amplitudes agree
    assert float(env.max() - env.min()) < 0.8


def test_untrained_hybrid_puts_the_upper_band_back_at_its_level():
    """The envelope channels alone (the learnt correction starts at zero) decode to noise at the
    reference's level above the crossover: the decoder starts where a band-energy vocoder is."""
    model = get_registry().architecture("hybrid12").build().eval()
    x = _hiss_over_bass(384 * 32)
    with torch.no_grad():
        y = model(x)
    ratio_db = 10 * math.log10(float(_band_level(y, 2500.0) / _band_level(x, 2500.0)))
    assert abs(ratio_db) < 2.0
    assert float(si_sdr(x, y)) > 5.0  # the bass is the waveform itself


def test_hybrid_training_lowers_its_loss():
    from fit_helpers import fit_steps

    torch.manual_seed(0)
    spec = get_registry().architecture("hybrid12")
    model = spec.build()
    x = _hiss_over_bass(384 * 16)
    losses = fit_steps(model, x, spec.recipe["loss"], SR, lr=3e-3, steps=40)
    assert losses[-1] < 0.9 * losses[0]
    assert all(p.grad is not None for p in model.parameters())
