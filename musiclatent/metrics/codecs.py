"""The same-size reference codec: resample down to 1/``scale`` of the samples and back up.

One implementation for ``evaluate`` (its resampling row) and ``benchmark quality`` (its
``resampleNN`` rows): a latent at encoding scale 1/``scale`` holds as many values as the waveform
resampled to ``sample_rate / scale``, so this is the trivial codec any model must beat.
``torchaudio.functional.resample`` (windowed sinc) with the exact ratio ``scale : 1`` (a fraction
``p / q`` for a non-integer scale), so 22050 Hz at 1/12 goes through 1837.5 Hz, not a rounded rate.
"""

from __future__ import annotations

from fractions import Fraction

import torch


def resample_ratio(scale: float) -> tuple[int, int]:
    """``(p, q)`` with ``p / q`` the scale (denominator at most 64): resample ``p -> q`` and back."""
    if not float(scale) > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    frac = Fraction(float(scale)).limit_denominator(64)
    return frac.numerator, frac.denominator


def resample_rate(sample_rate: int, scale: float) -> float:
    """The intermediate rate in Hz: ``sample_rate / scale`` (through the ratio actually used)."""
    p, q = resample_ratio(scale)
    return sample_rate * q / p


def resample_codec(wave: torch.Tensor, scale: float) -> torch.Tensor:
    """``wave [..., T]`` down to 1/``scale`` of its samples and back up, cut or zero-padded to ``T``."""
    import torchaudio.functional as AF

    p, q = resample_ratio(scale)
    back = AF.resample(AF.resample(wave, p, q), q, p)
    t = wave.shape[-1]
    if back.shape[-1] >= t:
        return back[..., :t]
    return torch.nn.functional.pad(back, (0, t - back.shape[-1]))


__all__ = ["resample_codec", "resample_rate", "resample_ratio"]
