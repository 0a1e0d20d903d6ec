"""The seed report's five waveform autoencoders (Net1..Net5), reconstructed from its text.

The report's diagrams were lost; the layer stacks below are chosen so that, for a 5 s clip at
22050 Hz (110250 samples), the flattened latent has exactly the report's size:

========  =====================  ==============  ========  ===================
name      report class           latent (C x T') values    encoding scale 1/x
========  =====================  ==============  ========  ===================
``alt1``  ``autoencoder``        32 x 1723       55136     1.9996
``alt2``  ``autoencoder_alt2``   16 x 3451       55216     1.9967
``alt3``  ``autoencoder_alt3``   4 x 18375       73500     1.5
``alt4``  ``autoencoder_alt4``   10 x 3675       36750     3.0
``alt5``  ``autoencoder_alt5``   3 x 3063        9189      11.998
========  =====================  ==============  ========  ===================

See docs/architectures.md for the layer tables and which choices are guesses.
All models take any input length: ``encode`` right-pads to the model's hop, ``decode`` crops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from musiclatent.architectures.base import AudioAutoencoder, fit_length, pad_to_multiple
from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.nn.fused import FusedLinearEncoder
from musiclatent.nn.seed_layers import (
    LeftUnpool1d,
    as_int_list,
    down_conv,
    init_scale_preserving,
    up_conv,
)


def _check_sample_rate(sample_rate: int) -> int:
    sample_rate = int(sample_rate)
    if sample_rate < 1:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    return sample_rate


class InterpolatingConvAutoencoder(AudioAutoencoder):
    """Net1 (``autoencoder``): ReLU conv encoder, transposed-conv decoder, then interpolation.

    Encoder: ``Conv1d(kernel=8, stride=4, padding=2)`` per stride (exactly ``L/4`` each), ReLU
    between layers, linear bottleneck. Decoder: ``ConvTranspose1d(kernel=decoder_kernel,
    stride=4)`` layers whose output is *not* ``4 L`` (as in the report), so the result is
    resampled with ``F.interpolate`` to the padded input length and cropped to ``length``.
    """

    def __init__(self, channels: Sequence[int] = (16, 32), latent_channels: int = 32,
                 strides: Sequence[int] = (4, 4, 4), decoder_kernel: int = 7,
                 sample_rate: int = DEFAULT_SAMPLE_RATE):
        super().__init__()
        channels = as_int_list(channels, "channels")
        strides = as_int_list(strides, "strides")
        if len(channels) != len(strides) - 1:
            raise ValueError("alt1 needs len(channels) == len(strides) - 1")
        self.sample_rate = _check_sample_rate(sample_rate)
        self.latent_channels = int(latent_channels)
        self.hop = math.prod(strides)
        widths = [1, *channels, self.latent_channels]
        enc: list[nn.Module] = []
        for i, s in enumerate(strides):
            enc.append(down_conv(widths[i], widths[i + 1], s, padding=s // 2))
            if i < len(strides) - 1:
                enc.append(nn.ReLU())
        dec: list[nn.Module] = []
        rev = widths[::-1]
        for i, s in enumerate(reversed(strides)):
            dec.append(nn.ConvTranspose1d(rev[i], rev[i + 1], kernel_size=int(decoder_kernel), stride=s))
            if i < len(strides) - 1:
                dec.append(nn.ReLU())
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)
        init_scale_preserving(self, relu_gain=True)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        return self.encoder(pad_to_multiple(wave, self.hop))

    def decode(self, latent: torch.Tensor, length: int | None = None) -> torch.Tensor:
        out = self.decoder(latent)
        out = F.interpolate(out, size=latent.shape[-1] * self.hop, mode="linear", align_corners=False)
        return fit_length(out, length)


class PoolingConvAutoencoder(AudioAutoencoder):
    """Net2 (``autoencoder_alt2``): other kernel sizes, a max-pool in the encoder and an
    unpooling layer in the decoder, output length equal to the input length.

    Encoder: ``Conv1d(1, c0, 5, stride 2, pad 2)`` ReLU, ``MaxPool1d(pool)``,
    ``Conv1d(c0, c1, 5, stride 4, pad 2)`` ReLU, ``Conv1d(c1, C, 11, stride 2, pad 10)``. The
    last conv is a "full" convolution (padding = kernel - 1): it adds 5 frames, which is what
    makes 110250 samples give 3451 frames (55216 values) rather than 3446.

    Decoder: the mirror, with ``output_padding`` so every stage is exact. Unpooling cannot use
    the encoder's pooling indices (``decode`` works from a latent alone), so ``unpool="left"``
    places each value at the first position of its window (``MaxUnpool1d`` with fixed indices),
    ``unpool="nearest"`` repeats it (``nn.Upsample``).
    """

    EXTRA_FRAMES = 5

    def __init__(self, channels: Sequence[int] = (16, 32), latent_channels: int = 16,
                 pool: int = 2, unpool: str = "left", sample_rate: int = DEFAULT_SAMPLE_RATE):
        super().__init__()
        hidden = as_int_list(channels, "channels")
        if len(hidden) != 2:
            raise ValueError(f"alt2 needs two hidden channel counts, e.g. channels=[16, 32], got {channels!r}")
        c0, c1 = hidden
        if unpool not in ("left", "nearest"):
            raise ValueError(f"unpool must be 'left' or 'nearest', got {unpool!r}")
        self.sample_rate = _check_sample_rate(sample_rate)
        self.latent_channels = int(latent_channels)
        self.pool = int(pool)
        self.hop = 2 * self.pool * 4 * 2
        c = self.latent_channels
        self.encoder = nn.Sequential(
            nn.Conv1d(1, c0, 5, stride=2, padding=2), nn.ReLU(),
            nn.MaxPool1d(self.pool),
            nn.Conv1d(c0, c1, 5, stride=4, padding=2), nn.ReLU(),
            nn.Conv1d(c1, c, 11, stride=2, padding=10),
        )
        unpool_layer = (LeftUnpool1d(self.pool) if unpool == "left"
                        else nn.Upsample(scale_factor=self.pool, mode="nearest"))
        self.decoder = nn.Sequential(
            nn.ConvTranspose1d(c, c1, 11, stride=2, padding=10, output_padding=1), nn.ReLU(),
            nn.ConvTranspose1d(c1, c0, 5, stride=4, padding=2, output_padding=3), nn.ReLU(),
            unpool_layer,
            nn.ConvTranspose1d(c0, 1, 5, stride=2, padding=2, output_padding=1),
        )
        init_scale_preserving(self, relu_gain=True)

    def latent_shape(self, length: int) -> tuple[int, int]:
        return self.latent_channels, math.ceil(length / self.hop) + self.EXTRA_FRAMES

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        return self.encoder(pad_to_multiple(wave, self.hop))

    def decode(self, latent: torch.Tensor, length: int | None = None) -> torch.Tensor:
        if latent.shape[-1] <= self.EXTRA_FRAMES:
            raise ValueError(f"alt2 latents have more than {self.EXTRA_FRAMES} frames, got {latent.shape[-1]}")
        return fit_length(self.decoder(latent), length)


class LinearConvAutoencoder(AudioAutoencoder):
    """Net3..Net5 (``autoencoder_alt3/4/5``): strided 1D convs with no activation functions
    and no BatchNorm (the report found they did not help), mirrored by transposed convs.

    Each layer is ``Conv1d(kernel = stride + 2, stride, padding 1)``: exactly ``L / stride``
    frames, so the latent is ``latent_channels x ceil(T / prod(strides))``.
    """

    def __init__(self, strides: Sequence[int] = (2, 3, 5), width: int = 32,
                 latent_channels: int = 10, sample_rate: int = DEFAULT_SAMPLE_RATE):
        super().__init__()
        strides = as_int_list(strides, "strides")
        self.sample_rate = _check_sample_rate(sample_rate)
        self.latent_channels = int(latent_channels)
        self.hop = math.prod(strides)
        widths = [1] + [int(width)] * (len(strides) - 1) + [self.latent_channels]
        self.encoder = nn.Sequential(*(down_conv(widths[i], widths[i + 1], s) for i, s in enumerate(strides)))
        rev = widths[::-1]
        self.decoder = nn.Sequential(*(up_conv(rev[i], rev[i + 1], s) for i, s in enumerate(reversed(strides))))
        init_scale_preserving(self)
        self._fused = FusedLinearEncoder(self.encoder, self.hop)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        x = pad_to_multiple(wave, self.hop)
        if torch.is_grad_enabled():
            return self.encoder(x)
        return self._fused(x)  # inference: the linear stack as one strided matmul (nn/fused.py)

    def decode(self, latent: torch.Tensor, length: int | None = None) -> torch.Tensor:
        return fit_length(self.decoder(latent), length)


# Factories named after the registry entries (``ArchitectureSpec.factory`` points here).
Alt1 = InterpolatingConvAutoencoder
Alt2 = PoolingConvAutoencoder


def Alt3(strides: Sequence[int] = (2, 3), width: int = 32, latent_channels: int = 4,  # noqa: N802
         sample_rate: int = DEFAULT_SAMPLE_RATE) -> LinearConvAutoencoder:
    """Net3 ``autoencoder_alt3``: linear, 4 x T/6 latent (scale 1/1.5)."""
    return LinearConvAutoencoder(strides, width, latent_channels, sample_rate)


def Alt4(strides: Sequence[int] = (2, 3, 5), width: int = 32, latent_channels: int = 10,  # noqa: N802
         sample_rate: int = DEFAULT_SAMPLE_RATE) -> LinearConvAutoencoder:
    """Net4 ``autoencoder_alt4``: linear, 10 x T/30 latent (scale 1/3)."""
    return LinearConvAutoencoder(strides, width, latent_channels, sample_rate)


def Alt5(strides: Sequence[int] = (3, 3, 4), width: int = 32, latent_channels: int = 3,  # noqa: N802
         sample_rate: int = DEFAULT_SAMPLE_RATE) -> LinearConvAutoencoder:
    """Net5 ``autoencoder_alt5``: linear, 3 x T/36 latent (scale 1/11.998)."""
    return LinearConvAutoencoder(strides, width, latent_channels, sample_rate)


__all__ = [
    "Alt1", "Alt2", "Alt3", "Alt4", "Alt5",
    "InterpolatingConvAutoencoder", "LinearConvAutoencoder", "PoolingConvAutoencoder",
]
