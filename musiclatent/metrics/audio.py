"""Audio reconstruction metrics: the one implementation used by training, evaluation and benchmarks.

Every function takes batched waveforms ``[B, 1, T]`` or ``[B, T]`` (a single ``[T]`` is treated as a
batch of one), returns one value per item (a ``[B]`` tensor) and is differentiable, so the losses
in ``musiclatent.losses`` are thin wrappers around these functions.

- ``si_sdr``: scale-invariant signal-to-distortion ratio in dB (higher is better).
- ``mrstft_distance``: multi-resolution STFT distance, spectral convergence plus log-magnitude L1,
  averaged over resolutions (as in auraloss / DAC; lower is better, 0 for identical signals); the
  convergence term's denominator has a loudness floor (``SC_RMS_FLOOR``) so quiet segments stay
  bounded.
- ``mel_distance``: L1 distance between log10 mel spectrograms, optionally multi-scale (lower is
  better, 0 for identical signals).
- ``boundary_energy_ratio``: how much a decoded track jumps at its segment boundaries, the mean
  energy of the first difference of the error (or of the wave) within +-10 ms of the boundaries
  over its mean elsewhere (about 1: seamless; well above 1: an audible click at each boundary).

Silence is handled with small epsilons: no function returns NaN for an all-zero input.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

EPS = 1e-8
LOG_FLOOR = 1e-5  # magnitude floor before taking logs (DAC uses 1e-5 as well)
SC_RMS_FLOOR = 10 ** (-50 / 20)
"""Loudness floor of spectral convergence's denominator: the RMS of a -50 dBFS signal.

Spectral convergence divides by the reference's spectral norm, so a near-silent reference segment
(an intro, a fade, a pause: common in real music) makes it explode (a -80 dB reference scored 462
where a normal one scores 5) and a training batch that holds one diverges. The denominator is
``sqrt(||ref||^2 + floor^2)``, with ``floor`` the spectral norm of a signal at this RMS: it changes
nothing for music at ordinary levels (-20 dBFS: under 0.1 %) and bounds the quiet ones.
"""


def as_batch(x: torch.Tensor) -> torch.Tensor:
    """``[B, 1, T]``, ``[B, T]`` or ``[T]`` -> ``[B, T]`` (float)."""
    if x.dim() == 3:
        if x.shape[1] != 1:
            raise ValueError(f"expected mono audio [B, 1, T], got shape {tuple(x.shape)}")
        x = x[:, 0]
    elif x.dim() == 1:
        x = x.unsqueeze(0)
    elif x.dim() != 2:
        raise ValueError(f"expected audio of shape [B, 1, T] or [B, T], got {tuple(x.shape)}")
    return x if x.is_floating_point() else x.float()


def _pair(ref: torch.Tensor, est: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    ref, est = as_batch(ref), as_batch(est)
    if ref.shape != est.shape:
        raise ValueError(f"reference {tuple(ref.shape)} and estimate {tuple(est.shape)} differ in shape")
    return ref, est


def si_sdr(ref: torch.Tensor, est: torch.Tensor, zero_mean: bool = True, eps: float = EPS) -> torch.Tensor:
    """Scale-invariant SDR in dB per item (Le Roux et al. 2019).

    ``est`` is projected onto ``ref``; the ratio of the projection's energy to the residual's is
    returned in dB. ``est = 2 * ref`` gives a very high value (limited only by ``eps``); ``est =
    ref + noise`` gives about the signal-to-noise ratio.
    """
    ref, est = _pair(ref, est)
    if zero_mean:
        ref = ref - ref.mean(dim=-1, keepdim=True)
        est = est - est.mean(dim=-1, keepdim=True)
    alpha = (est * ref).sum(-1, keepdim=True) / (ref.pow(2).sum(-1, keepdim=True) + eps)
    target = alpha * ref
    noise = est - target
    return 10 * torch.log10((target.pow(2).sum(-1) + eps) / (noise.pow(2).sum(-1) + eps))


def _window(n_fft: int, device, dtype) -> torch.Tensor:
    return torch.hann_window(n_fft, device=device, dtype=dtype)


def _magnitude(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    spec = torch.stft(x, n_fft=n_fft, hop_length=hop, win_length=n_fft, window=_window(n_fft, x.device, x.dtype),
                      center=True, pad_mode="constant", return_complex=True)
    # sqrt of power with a floor keeps the gradient finite at exact zeros
    return (spec.real.pow(2) + spec.imag.pow(2)).clamp_min(EPS).sqrt()


def spectral_convergence(mag_ref: torch.Tensor, mag_est: torch.Tensor, n_fft: int) -> torch.Tensor:
    """``||ref - est|| / sqrt(||ref||^2 + floor^2)`` per item, on magnitudes ``[B, F, frames]``.

    ``floor`` is the spectral norm a signal at :data:`SC_RMS_FLOOR` RMS has at this resolution
    (Parseval, one-sided spectrum of Hann-windowed frames: ``||S||^2 ~ frames * n_fft^2 * 3/16 *
    rms^2``, whatever the hop: the frame count carries it), so quiet references cannot blow it up.
    """
    frames = mag_ref.shape[-1]
    floor2 = frames * n_fft * n_fft * (3 / 16) * SC_RMS_FLOOR ** 2
    ref_norm2 = mag_ref.flatten(1).pow(2).sum(-1)
    return (mag_ref - mag_est).flatten(1).norm(dim=-1) / (ref_norm2 + floor2 + EPS).sqrt()


def stft_distance(ref: torch.Tensor, est: torch.Tensor, n_fft: int, hop: int | None = None) -> torch.Tensor:
    """Spectral convergence (loudness-floored) + mean log-magnitude L1 at one resolution, per item."""
    ref, est = _pair(ref, est)
    hop = hop or n_fft // 4
    mag_ref, mag_est = _magnitude(ref, n_fft, hop), _magnitude(est, n_fft, hop)
    sc = spectral_convergence(mag_ref, mag_est, n_fft)
    log_l1 = (mag_ref.clamp_min(LOG_FLOOR).log10() - mag_est.clamp_min(LOG_FLOOR).log10()).abs().flatten(1).mean(-1)
    return sc + log_l1


def mrstft_distance(ref: torch.Tensor, est: torch.Tensor, sample_rate: int | None = None,
                    fft_sizes: Sequence[int] = (512, 1024, 2048)) -> torch.Tensor:
    """Multi-resolution STFT distance per item: ``stft_distance`` averaged over ``fft_sizes``.

    Hann windows of each size, hop a quarter of the window. ``sample_rate`` is accepted for a
    uniform signature (the distance does not depend on it).
    """
    total = None
    for n_fft in fft_sizes:
        d = stft_distance(ref, est, n_fft)
        total = d if total is None else total + d
    return total / len(fft_sizes)


_MEL_CACHE: dict[tuple, torch.nn.Module] = {}


def _mel_transform(sample_rate: int, n_fft: int, n_mels: int, device) -> torch.nn.Module:
    key = (sample_rate, n_fft, n_mels, str(device))
    mel = _MEL_CACHE.get(key)
    if mel is None:
        import warnings

        import torchaudio

        with warnings.catch_warnings():  # few mels on a small FFT leave empty filters: harmless here
            warnings.simplefilter("ignore")
            mel = torchaudio.transforms.MelSpectrogram(
                sample_rate=sample_rate, n_fft=n_fft, hop_length=n_fft // 4, n_mels=n_mels,
                power=1.0, center=True, pad_mode="constant", norm="slaney", mel_scale="slaney",
            ).to(device)
        _MEL_CACHE[key] = mel
    return mel


def log_mel(x: torch.Tensor, sample_rate: int, n_mels: int = 80, n_fft: int = 1024) -> torch.Tensor:
    """``log10`` magnitude mel spectrogram ``[B, n_mels, frames]`` (floor ``1e-5``)."""
    x = as_batch(x)
    mel = _mel_transform(int(sample_rate), n_fft, n_mels, x.device)
    return mel(x.float()).clamp_min(LOG_FLOOR).log10()


def mel_distance(ref: torch.Tensor, est: torch.Tensor, sample_rate: int, n_mels: int = 80,
                 n_fft: int = 1024, scales: Sequence[tuple[int, int]] | None = None) -> torch.Tensor:
    """Mean L1 distance between log-mel spectrograms, per item.

    ``scales`` (a sequence of ``(n_fft, n_mels)``) averages over several resolutions, e.g.
    DAC's ``((512, 40), (1024, 80), (2048, 160))``; otherwise one ``(n_fft, n_mels)`` is used.
    """
    ref, est = _pair(ref, est)
    scales = list(scales) if scales else [(n_fft, n_mels)]
    total = None
    for fft, mels in scales:
        d = (log_mel(ref, sample_rate, mels, fft) - log_mel(est, sample_rate, mels, fft)).abs().flatten(1).mean(-1)
        total = d if total is None else total + d
    return total / len(scales)


def evaluate_pair(ref: torch.Tensor, est: torch.Tensor, sample_rate: int) -> dict[str, float]:
    """All reconstruction metrics for a batch, averaged over items: a plain dict of floats.

    Keys: ``mse``, ``l1``, ``si_sdr`` (dB), ``mrstft``, ``mel``.
    """
    with torch.no_grad():
        r, e = _pair(ref, est)
        return {
            "mse": float((r - e).pow(2).mean()),
            "l1": float((r - e).abs().mean()),
            "si_sdr": float(si_sdr(r, e).mean()),
            "mrstft": float(mrstft_distance(r, e, sample_rate).mean()),
            "mel": float(mel_distance(r, e, sample_rate).mean()),
        }


def boundary_energy_ratio(est: torch.Tensor, boundaries: Sequence[int], sample_rate: int,
                          ref: torch.Tensor | None = None, window_s: float = 0.010) -> torch.Tensor:
    """Energy of the difference signal near ``boundaries`` over its energy elsewhere, per item.

    The difference signal is the first difference of ``est - ref`` (of ``est`` alone when no
    ``ref`` is given): a high-pass that makes a discontinuity a spike while a smooth error stays
    small. Its mean square within ``window_s`` either side of each boundary (sample indices, e.g.
    the segment starts after the first) is divided by its mean square over the other samples.
    About 1 means the boundaries are like any other place; a seam shows as a ratio well above 1.
    Raises ``ValueError`` when no boundary lies inside the signal or nothing lies outside them.
    """
    x = as_batch(est).double()
    if ref is not None:
        r, e = _pair(ref, est)
        x = (e - r).double()
    d = (x[:, 1:] - x[:, :-1]).pow(2)  # d[:, i] is the jump between samples i and i + 1
    n = d.shape[-1]
    half = max(1, int(round(window_s * int(sample_rate))))
    near = torch.zeros(n, dtype=torch.bool, device=d.device)
    for b in boundaries:
        b = int(b)
        if 0 < b <= n:
            near[max(0, b - half): min(n, b + half)] = True
    if not near.any() or near.all():
        raise ValueError(f"boundaries {list(boundaries)[:5]} leave no samples near them, or none elsewhere, "
                         f"in a signal of {n + 1} samples")
    return (d[:, near].mean(-1) / (d[:, ~near].mean(-1) + 1e-30)).float()


__all__ = ["as_batch", "boundary_energy_ratio", "evaluate_pair", "log_mel", "mel_distance", "mrstft_distance", "si_sdr", "stft_distance"]
