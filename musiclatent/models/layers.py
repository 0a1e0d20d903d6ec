"""Reusable building blocks for the modern autoencoders (DAC / EnCodec style).

Blocks only: the assembled models live in ``musiclatent.models.modern`` (waveform) and
``musiclatent.models.spectral`` (spectrogram). Everything here is shape-preserving in time unless
its name says it strides:

- ``Snake1d``: ``x + sin(alpha * x)^2 / alpha`` with a learned ``alpha`` per channel (Ziyin et al.
  2020, used by BigVGAN and DAC): a periodic non-linearity that suits audio.
- ``WNConv1d`` / ``WNConvTranspose1d``: weight-normalised convolutions (torch parametrizations,
  so the state dict is plain tensors that safetensors stores).
- ``ResidualUnit``: activation -> dilated conv -> activation -> 1x1 conv, plus the input.
- ``DownBlock`` / ``UpBlock``: a strided (transposed) convolution followed by residual units with
  dilations 1, 3, 9 at the *lower* rate, so no residual unit ever runs at the full sample rate
  (the CPU-friendly order; DAC runs them before the stride).
- ``ISTFTHead``: frames of predicted log-magnitude and phase -> waveform by overlap-add
  ("same" padding: ``F`` frames give exactly ``F * hop`` samples), as in Vocos.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

SNAKE_MIN_ALPHA = 1e-4
"""The smallest ``|alpha|`` Snake divides by (a learned alpha that reaches zero would give inf * 0)."""


class Snake1d(nn.Module):
    """Snake activation ``x + sin(alpha x)^2 / alpha`` with one learned ``alpha`` per channel."""

    def __init__(self, channels: int, alpha: float = 1.0):
        super().__init__()
        self.alpha = nn.Parameter(torch.full((1, channels, 1), float(alpha)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.alpha
        # 1 / alpha, kept finite when a learned alpha reaches (or crosses) zero: below SNAKE_MIN_ALPHA
        # in size it is replaced by +-SNAKE_MIN_ALPHA (sin(a x)^2 / a -> 0 there anyway)
        small = a.abs() < SNAKE_MIN_ALPHA
        inv = torch.where(small, torch.full_like(a, SNAKE_MIN_ALPHA).copysign(a), a + 1e-9).reciprocal()
        return x + inv * torch.sin(a * x).pow(2)


def activation(name: str, channels: int) -> nn.Module:
    """``"snake"`` (learned per channel), ``"elu"`` or ``"gelu"``."""
    if name == "snake":
        return Snake1d(channels)
    if name == "elu":
        return nn.ELU()
    if name == "gelu":
        return nn.GELU()
    raise ValueError(f"unknown activation {name!r}; choose snake, elu or gelu")


def WNConv1d(*args, norm: bool = True, **kwargs) -> nn.Module:  # noqa: N802 - a layer factory
    """``nn.Conv1d`` with weight normalisation (``norm=False``: a plain conv)."""
    conv = nn.Conv1d(*args, **kwargs)
    return weight_norm(conv) if norm else conv


def WNConvTranspose1d(*args, norm: bool = True, **kwargs) -> nn.Module:  # noqa: N802
    """``nn.ConvTranspose1d`` with weight normalisation (``norm=False``: a plain one)."""
    conv = nn.ConvTranspose1d(*args, **kwargs)
    return weight_norm(conv) if norm else conv


class ResidualUnit(nn.Module):
    """``x + conv1x1(act(conv_k,dilated(act(x))))``; length preserved ("same" padding)."""

    def __init__(self, channels: int, dilation: int = 1, kernel_size: int = 7, act: str = "snake",
                 norm: bool = True):
        super().__init__()
        pad = (kernel_size - 1) * dilation // 2
        self.block = nn.Sequential(
            activation(act, channels),
            WNConv1d(channels, channels, kernel_size, dilation=dilation, padding=pad, norm=norm),
            activation(act, channels),
            WNConv1d(channels, channels, 1, norm=norm),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def residual_stack(channels: int, dilations: Sequence[int] = (1, 3, 9), kernel_size: int = 7,
                   act: str = "snake", norm: bool = True) -> nn.Sequential:
    """Residual units with the given dilations, one after the other."""
    return nn.Sequential(*[ResidualUnit(channels, d, kernel_size, act, norm) for d in dilations])


class DownBlock(nn.Module):
    """``act -> conv(stride s, kernel 2s) -> residual units``: length ``T -> T / s`` (T a multiple of s)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 dilations: Sequence[int] = (1, 3, 9), act: str = "snake", norm: bool = True,
                 kernel_size: int = 7):
        super().__init__()
        kernel = 2 * stride if stride > 1 else 3
        pad = (stride + 1) // 2 if stride > 1 else 1
        self.down = nn.Sequential(
            activation(act, in_channels),
            WNConv1d(in_channels, out_channels, kernel, stride=stride, padding=pad, norm=norm),
        )
        self.res = residual_stack(out_channels, dilations, kernel_size, act=act, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res(self.down(x))


class UpBlock(nn.Module):
    """``residual units -> act -> transposed conv(stride s, kernel 2s)``: length ``T -> T * s``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 dilations: Sequence[int] = (1, 3, 9), act: str = "snake", norm: bool = True,
                 kernel_size: int = 7):
        super().__init__()
        self.res = residual_stack(in_channels, dilations, kernel_size, act=act, norm=norm)
        self.act = activation(act, in_channels)
        if stride > 1:
            self.up = WNConvTranspose1d(in_channels, out_channels, 2 * stride, stride=stride,
                                        padding=(stride + 1) // 2, output_padding=stride % 2, norm=norm)
        else:
            self.up = WNConv1d(in_channels, out_channels, 3, padding=1, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.act(self.res(x)))


class ISTFTHead(nn.Module):
    """``[B, C, F]`` features -> ``[B, 1, F * hop]`` waveform via predicted log-magnitude and phase.

    A 1x1 conv predicts ``n_fft // 2 + 1`` log-magnitudes and as many phases per frame; frames are
    inverse-FFT'd, windowed (Hann), overlap-added and normalised by the window envelope; the
    ``(n_fft - hop) / 2`` samples of padding at each end are cropped so ``F`` frames give exactly
    ``F * hop`` samples (the frame ``f`` is centred on sample ``f * hop + hop / 2``, which matches
    ``frame_stft`` below).

    ``phase="advance"`` adds the phase a steady sinusoid at each bin's centre frequency gains from
    frame to frame (``2 pi k hop / n_fft`` per frame for bin ``k``) to the predicted phase, so a
    decoder that predicts a constant phase already overlap-adds frames coherently; the learned part
    only corrects it. With the reference's own magnitudes this prior alone gives a mel distance of
    0.18 where random phases give 0.29 (MR-STFT 0.86 vs 1.06), and it trains far faster than
    ``phase="free"`` (the raw prediction is the phase).
    """

    def __init__(self, channels: int, n_fft: int, hop: int, max_log_mag: float = 4.0, phase: str = "free"):
        super().__init__()
        if (n_fft - hop) % 2:
            raise ValueError(f"n_fft - hop must be even, got n_fft={n_fft}, hop={hop}")
        if phase not in ("free", "advance", "fixed"):
            raise ValueError(f"unknown phase parametrisation {phase!r}; choose free, advance or fixed")
        self.n_fft, self.hop, self.max_log_mag, self.phase = n_fft, hop, max_log_mag, phase
        bins = n_fft // 2 + 1
        self.proj = nn.Conv1d(channels, bins if phase == "fixed" else 2 * bins, 1)
        if phase == "advance":  # start from the coherent prior: zero phase correction
            with torch.no_grad():
                self.proj.weight[bins:].zero_()
                self.proj.bias[bins:].zero_()
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bins = self.n_fft // 2 + 1
        out = self.proj(x)
        log_mag = out[:, :bins]
        mag = torch.exp(log_mag.clamp(max=self.max_log_mag))
        if self.phase == "free":
            phase = out[:, bins:]
        else:
            phase = bin_advance(bins, out.shape[-1], self.n_fft, self.hop, out.device)
            phase = phase + out[:, bins:] if self.phase == "advance" else phase.expand_as(mag)
        # real and imaginary parts by hand: torch.polar's backward goes through sgn(mag * e^(i phase)),
        # which returns NaN once a magnitude underflows to a subnormal (seen on several torch releases)
        spec = torch.complex(mag * torch.cos(phase), mag * torch.sin(phase))  # [B, bins, F]
        return overlap_add(spec, self.n_fft, self.hop, self.window)


def bin_advance(bins: int, frames: int, n_fft: int, hop: int, device=None) -> torch.Tensor:
    """``[bins, frames]`` phase of a bin-centred sinusoid: ``2 pi k hop f / n_fft``, wrapped to [0, 2 pi)."""
    k = torch.arange(bins, device=device, dtype=torch.float64)[:, None]
    f = torch.arange(frames, device=device, dtype=torch.float64)[None]
    # (k * hop * f) mod n_fft exactly in integers-as-float64, then scaled: no precision loss on long inputs
    return (torch.remainder(k * hop * f, n_fft) * (2 * math.pi / n_fft)).float()


def overlap_add(spec: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> torch.Tensor:
    """Inverse of ``frame_stft``: complex ``[B, bins, F]`` -> ``[B, 1, F * hop]``."""
    frames = torch.fft.irfft(spec, n=n_fft, dim=1, norm="backward") * window[None, :, None]
    n_frames = frames.shape[-1]
    out_len = (n_frames - 1) * hop + n_fft
    y = nn.functional.fold(frames, output_size=(1, out_len), kernel_size=(1, n_fft), stride=(1, hop))
    env = nn.functional.fold(window.pow(2)[None, :, None].expand(1, -1, n_frames), output_size=(1, out_len),
                             kernel_size=(1, n_fft), stride=(1, hop))
    pad = (n_fft - hop) // 2
    y = y[..., pad:out_len - pad] / env[..., pad:out_len - pad].clamp_min(1e-8)
    return y.reshape(spec.shape[0], 1, -1)


def frame_stft(wave: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> torch.Tensor:
    """Complex STFT ``[B, bins, T / hop]`` of ``wave[B, 1, T]`` (T a multiple of ``hop``), "same" padding."""
    pad = (n_fft - hop) // 2
    x = nn.functional.pad(wave[:, 0], (pad, pad))
    return torch.stft(x, n_fft=n_fft, hop_length=hop, win_length=n_fft, window=window, center=False,
                      return_complex=True)


def product(values: Sequence[int]) -> int:
    """Product of integers (the hop of a stack of strides)."""
    return int(math.prod(int(v) for v in values))


__all__ = [
    "DownBlock", "ISTFTHead", "ResidualUnit", "Snake1d", "UpBlock", "WNConv1d", "WNConvTranspose1d",
    "activation", "bin_advance", "frame_stft", "overlap_add", "product", "residual_stack",
]
