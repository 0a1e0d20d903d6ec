"""The modern codecs' layers (wave*, mel*, hybrid12, sparse12; DAC / EnCodec / Vocos style).

Layers only: the assembled networks live in ``musiclatent.architectures.modern`` (waveform),
``.spectral`` (spectrogram), ``.hybrid`` and ``.sparse``; the seed models' layers are in
``musiclatent.nn.seed_layers``. Everything here is shape-preserving in time unless
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
- ``LogMel``: the log10 mel spectrogram the spectral encoders read.
- ``lct_analysis`` / ``lct_synthesis``: an orthonormal local cosine transform (the MDCT's lapped
  sine-window basis, kept inside the segment with even-symmetric edges): ``T / hop`` frames rebuild
  ``T`` samples exactly, and the first ``K`` coefficients of every frame are an exact, critically
  sampled code of the band below about ``K * sample_rate / (2 * hop)`` Hz.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

NOISE_SEED = 20261206
NOISE_PERIOD = 1024
"""``ISTFTHead(phase="noise")``: the seed of its fixed random phases and their period in frames."""

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

    ``phase="noise"``: a fixed pseudo-random phase per bin and frame (seeded, so decoding is
    deterministic; it repeats every :data:`NOISE_PERIOD` frames) and only magnitudes are learnt:
    for a band whose phase the latent does not carry (the upper band of ``hybrid12``) this scores
    better than the bin-centred prior on real music (DAC mel 1.54 vs 1.74 with the reference's own
    magnitudes above 800 Hz; see docs/architectures.md).

    ``low_cut_bin``: bins below it are silenced (a linear ramp over ``2 * ramp_bins`` bins centred on
    it), for a head that fills only the band above a waveform-coded low band.
    """

    def __init__(self, channels: int, n_fft: int, hop: int, max_log_mag: float = 4.0, phase: str = "free",
                 low_cut_bin: int = 0, ramp_bins: int = 2):
        super().__init__()
        if (n_fft - hop) % 2:
            raise ValueError(f"n_fft - hop must be even, got n_fft={n_fft}, hop={hop}")
        if phase not in ("free", "advance", "fixed", "noise"):
            raise ValueError(f"unknown phase parametrisation {phase!r}; choose free, advance, fixed or noise")
        self.n_fft, self.hop, self.max_log_mag, self.phase = n_fft, hop, max_log_mag, phase
        bins = n_fft // 2 + 1
        magnitude_only = phase in ("fixed", "noise")
        self.proj = nn.Conv1d(channels, bins if magnitude_only else 2 * bins, 1)
        if low_cut_bin > 0:
            k = torch.arange(bins, dtype=torch.float32)
            ramp = max(int(ramp_bins), 1)
            gain = ((k - (low_cut_bin - ramp)) / (2 * ramp)).clamp(0.0, 1.0)
            self.register_buffer("band_gain", gain[:, None], persistent=False)
        else:
            self.band_gain = None
        if phase == "noise":
            g = torch.Generator().manual_seed(NOISE_SEED)
            self.register_buffer("noise_phase", torch.rand(bins, NOISE_PERIOD, generator=g) * (2 * math.pi),
                                 persistent=False)
        if phase == "advance":  # start from the coherent prior: zero phase correction
            with torch.no_grad():
                self.proj.weight[bins:].zero_()
                self.proj.bias[bins:].zero_()
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x: torch.Tensor, log_mag_prior: torch.Tensor | None = None) -> torch.Tensor:
        """``x[B, channels, F]`` -> ``[B, 1, F * hop]``; ``log_mag_prior[B, bins, F]`` (natural log),
        when given, is added to the predicted log-magnitudes (the head then learns a correction)."""
        bins = self.n_fft // 2 + 1
        out = self.proj(x)
        log_mag = out[:, :bins] if log_mag_prior is None else out[:, :bins] + log_mag_prior
        mag = torch.exp(log_mag.clamp(max=self.max_log_mag))
        if self.band_gain is not None:
            mag = mag * self.band_gain
        frames = out.shape[-1]
        if self.phase == "free":
            phase = out[:, bins:]
        elif self.phase == "noise":
            reps = -(-frames // NOISE_PERIOD)
            phase = self.noise_phase.repeat(1, reps)[:, :frames].expand_as(mag)
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


LOG_MEL_FLOOR = 1e-5


class LogMel(nn.Module):
    """``wave[B, 1, T]`` (T a multiple of ``hop``) -> log10 Slaney mel ``[B, n_mels, T / hop]``
    ("same" framing, as ``frame_stft``; magnitudes floored at ``1e-5``)."""

    def __init__(self, n_fft: int, hop: int, n_mels: int, sample_rate: int):
        super().__init__()
        import torchaudio

        self.n_fft, self.hop = int(n_fft), int(hop)
        fb = torchaudio.functional.melscale_fbanks(self.n_fft // 2 + 1, 0.0, sample_rate / 2, int(n_mels), sample_rate,
                                                   norm="slaney", mel_scale="slaney")
        self.register_buffer("mel_fb", fb.T.contiguous(), persistent=False)  # [n_mels, bins]
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        mag = frame_stft(wave, self.n_fft, self.hop, self.window).abs()
        return torch.matmul(self.mel_fb, mag).clamp_min(LOG_MEL_FLOOR).log10()


def lct_matrices(hop: int, bins: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``bins`` rows of the orthonormal DCT-IV and DCT-II of size ``hop``: ``([bins, hop], [bins, hop])``."""
    hop = int(hop)
    bins = hop if bins is None else int(bins)
    n = torch.arange(hop, dtype=torch.float64)[None] + 0.5
    k = torch.arange(bins, dtype=torch.float64)[:, None]
    dct4 = torch.cos(math.pi / hop * n * (k + 0.5)) * math.sqrt(2.0 / hop)
    dct2 = torch.cos(math.pi / hop * n * k) * math.sqrt(2.0 / hop)
    dct2[0] /= math.sqrt(2.0)
    return dct4.float(), dct2.float()


def _fold(blocks: torch.Tensor, inverse: bool) -> torch.Tensor:
    """Malvar's folding across every boundary between consecutive blocks ``[B, M, hop]``: each pair of
    samples mirrored about a boundary is rotated by the sine window's angle (orthonormal)."""
    hop = blocks.shape[-1]
    half = hop // 2
    if blocks.shape[1] < 2:
        return blocks
    theta = math.pi * (torch.arange(half, dtype=torch.float64, device=blocks.device) + half + 0.5) / (2 * hop)
    s, c = theta.sin().to(blocks.dtype), theta.cos().to(blocks.dtype)
    left = blocks[:, :-1, hop - half:].flip(-1)   # x[b - 1 - j]
    right = blocks[:, 1:, :half]                  # x[b + j]
    if inverse:
        new_left, new_right = s * left + c * right, s * right - c * left
    else:
        new_left, new_right = s * left - c * right, s * right + c * left
    first = torch.cat([blocks[:, :1, :half], new_right], dim=1)              # every block's first half
    second = torch.cat([new_left.flip(-1), blocks[:, -1:, hop - half:]], dim=1)  # every block's second half
    return torch.cat([first, blocks[:, :, half:hop - half], second], dim=-1)


def lct_analysis(wave: torch.Tensor, dct4: torch.Tensor, dct2: torch.Tensor) -> torch.Tensor:
    """Local cosine transform of ``wave[B, 1, T]`` (T a multiple of the hop): ``[B, bins, T / hop]``.

    The MDCT's lapped basis (sine window, Malvar's folding, DCT-IV blocks) inside the segment, with
    no frame reaching outside it: the first block is even-symmetric at the segment's start (DCT-IV)
    and the last block at its end (DCT-II instead of DCT-IV), so a band-limited code has no jump to
    smooth over at either edge, and segments coded one by one join without a seam. Orthonormal:
    with every bin, ``lct_synthesis`` rebuilds the wave exactly; with the first ``bins`` it is the
    projection onto the band below about ``bins * sample_rate / (2 * hop)`` Hz.
    """
    hop = dct4.shape[-1]
    blocks = _fold(wave.reshape(wave.shape[0], -1, hop), inverse=False)   # [B, M, hop]
    coeffs = torch.cat([blocks[:, :-1] @ dct4.T.to(wave.dtype), blocks[:, -1:] @ dct2.T.to(wave.dtype)], dim=1)
    return coeffs.transpose(1, 2)


def lct_synthesis(coeffs: torch.Tensor, dct4: torch.Tensor, dct2: torch.Tensor) -> torch.Tensor:
    """Inverse of ``lct_analysis`` for the bins it was given: ``[B, bins, M]`` -> ``[B, 1, M * hop]``."""
    c = coeffs.transpose(1, 2)
    blocks = torch.cat([c[:, :-1] @ dct4.to(c.dtype), c[:, -1:] @ dct2.to(c.dtype)], dim=1)
    return _fold(blocks, inverse=True).reshape(coeffs.shape[0], 1, -1)


def product(values: Sequence[int]) -> int:
    """Product of integers (the hop of a stack of strides)."""
    return int(math.prod(int(v) for v in values))


__all__ = [
    "DownBlock", "ISTFTHead", "LogMel", "ResidualUnit", "Snake1d", "UpBlock", "WNConv1d", "WNConvTranspose1d",
    "activation", "bin_advance", "frame_stft", "lct_analysis", "lct_matrices", "lct_synthesis", "overlap_add",
    "product", "residual_stack",
]
