"""Audio metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from musiclatent.metrics.audio import (
    evaluate_pair,
    mel_distance,
    mrstft_distance,
    si_sdr,
    stft_distance,
)

torch.set_num_threads(1)
SR = 8000


def _signal(b=2, t=4000, seed=0):
    g = torch.Generator().manual_seed(seed)
    time = torch.arange(t) / SR
    tones = torch.stack([torch.sin(2 * math.pi * (220 + 110 * i) * time) for i in range(b)])
    return (tones + 0.1 * torch.randn(b, t, generator=g)).unsqueeze(1)  # [B,1,T]


def test_si_sdr_scaled_copy_is_very_high_and_scale_invariant():
    x = _signal()
    assert (si_sdr(x, 2 * x) > 60).all()
    assert torch.allclose(si_sdr(x, x + 0.3 * _signal(seed=1)), si_sdr(x, 3 * (x + 0.3 * _signal(seed=1))), atol=1e-3)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_si_sdr_of_added_white_noise_is_about_the_snr(snr_db):
    x = _signal(b=3, t=16000)
    x = x - x.mean(-1, keepdim=True)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    noise = noise - noise.mean(-1, keepdim=True)
    # scale noise to the exact SNR, then remove its projection on x so the hand value is exact
    proj = (noise * x).sum(-1, keepdim=True) / (x * x).sum(-1, keepdim=True) * x
    noise = noise - proj
    scale = torch.sqrt((x.pow(2).sum(-1, keepdim=True)) / (noise.pow(2).sum(-1, keepdim=True)) / 10 ** (snr_db / 10))
    got = si_sdr(x, x + scale * noise)
    assert torch.allclose(got, torch.full_like(got, snr_db), atol=1e-3)


def test_si_sdr_accepts_2d_and_handles_silence():
    x = _signal()[:, 0]
    assert si_sdr(x, x).shape == (2,)
    zeros = torch.zeros(2, 1000)
    for value in (si_sdr(zeros, zeros), mrstft_distance(zeros, zeros, SR), mel_distance(zeros, zeros, SR)):
        assert torch.isfinite(value).all()
    assert torch.isfinite(si_sdr(zeros, torch.ones(2, 1000))).all()


def test_distances_are_zero_for_identical_and_grow_with_noise():
    x = _signal()
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    for fn in (lambda a, b: mrstft_distance(a, b, SR), lambda a, b: mel_distance(a, b, SR, n_mels=40)):
        assert torch.allclose(fn(x, x), torch.zeros(2), atol=1e-6)
        small, large = fn(x, x + 0.01 * noise), fn(x, x + 0.5 * noise)
        assert (small > 0).all() and (large > small).all()


def test_stft_distance_spectral_convergence_by_hand():
    # est = 0.5 * ref: magnitudes halve, so SC = 0.5 and log-L1 = log10(2) wherever |ref| > floor
    x = _signal(b=1, t=4096)
    got = float(stft_distance(x, 0.5 * x, n_fft=512))
    assert got == pytest.approx(0.5 + math.log10(2), rel=0.02)


def test_mrstft_averages_resolutions_and_works_on_short_clips():
    x, y = _signal(t=300), _signal(t=300, seed=9)  # shorter than the largest FFT
    avg = mrstft_distance(x, y, SR, fft_sizes=(256, 512))
    assert torch.allclose(avg, (stft_distance(x, y, 256) + stft_distance(x, y, 512)) / 2)


def test_metrics_are_differentiable():
    x = _signal()
    est = (x + 0.1).requires_grad_(True)
    (mrstft_distance(x, est, SR).sum() + mel_distance(x, est, SR).sum() - si_sdr(x, est).sum()).backward()
    assert est.grad is not None and torch.isfinite(est.grad).all()


def test_evaluate_pair_keys_and_shape_errors():
    x = _signal()
    result = evaluate_pair(x, x, SR)
    assert set(result) == {"mse", "l1", "si_sdr", "mrstft", "mel"}
    assert result["mse"] == 0 and result["si_sdr"] > 60
    with pytest.raises(ValueError, match="differ in shape"):
        si_sdr(x, x[..., :-1])
    with pytest.raises(ValueError, match="mono"):
        si_sdr(torch.zeros(1, 2, 10), torch.zeros(1, 2, 10))


def test_boundary_energy_ratio_is_one_for_a_smooth_wave_and_large_for_a_seam():
    from musiclatent.metrics.audio import boundary_energy_ratio

    def tones(t):
        return 0.3 * torch.sin(2 * math.pi * 55 * t + 1) + 0.2 * torch.sin(2 * math.pi * 82.5 * t + 2)

    t = torch.arange(4 * SR) / SR
    smooth = tones(t)
    bounds = [SR, 2 * SR, 3 * SR]
    assert abs(float(boundary_energy_ratio(smooth, bounds, SR)) - 1.0) < 0.1
    reset = tones(t % 1.0)  # every 1 s segment starts its tones afresh: a jump at each boundary
    assert float(boundary_energy_ratio(reset, bounds, SR)) > 3.0
    # against a reference only the error counts: segments faded out and in over 5 ms at their edges
    edge = torch.clamp(torch.minimum(t % 1.0, 1.0 - t % 1.0) / 0.005, max=1.0)
    faded = smooth * edge
    assert float(boundary_energy_ratio(faded, bounds, SR, ref=smooth)) > 3.0
    noise = 0.01 * torch.randn(len(t), generator=torch.Generator().manual_seed(0))  # an error without seams
    assert abs(float(boundary_energy_ratio(faded, bounds, SR, ref=faded + noise)) - 1.0) < 0.2
    batch = boundary_energy_ratio(torch.stack([smooth, reset]), bounds, SR)
    assert batch.shape == (2,) and batch[1] > 3 * batch[0]
    with pytest.raises(ValueError, match="boundaries"):
        boundary_energy_ratio(smooth, [10 * SR], SR)


def test_spectral_convergence_is_bounded_on_quiet_references_and_unchanged_on_loud_ones():
    # the floor: a -80 dB reference used to score ~460 (and diverge training); loud audio is untouched
    from musiclatent.metrics.audio import spectral_convergence

    torch.manual_seed(0)
    loud = torch.randn(1, 22050) * 0.1         # -20 dBFS RMS
    est = loud + torch.randn_like(loud) * 0.03
    mag_ref, mag_est = (torch.stft(x, 1024, 256, window=torch.hann_window(1024), return_complex=True).abs()
                        for x in (loud, est))
    unfloored = float((mag_ref - mag_est).norm() / mag_ref.norm())
    assert abs(float(spectral_convergence(mag_ref, mag_est, 1024)) - unfloored) / unfloored < 1e-3
    quiet = loud * 1e-4                        # -100 dBFS RMS
    noisy = quiet + torch.randn_like(quiet) * 1e-3
    assert float(mrstft_distance(quiet, noisy, SR)) < 5.0
    assert float(mrstft_distance(torch.zeros_like(quiet), noisy, SR)) < 5.0
    # and it still grows with the error on quiet audio, so it keeps a gradient there
    assert float(mrstft_distance(quiet, quiet + torch.randn_like(quiet) * 1e-2, SR)) > float(
        mrstft_distance(quiet, noisy, SR))
