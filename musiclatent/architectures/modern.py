"""``wave``: a modern waveform autoencoder (strided convs + residual dilated units, Snake, weight norm).

Encoder: ``conv7(1 -> channels)`` then one ``DownBlock`` per stride (strided conv, then residual
units with dilations 1, 3, 9 at the lower rate; channels double per block up to
``max_channels``), then ``act -> conv3(-> latent_channels)``. The decoder mirrors it with
transposed convolutions and ends in ``conv7(-> 1)`` and ``tanh``. The hop is the product of
``strides``; the latent is ``[B, latent_channels, ceil(T / hop)]``, so the encoding scale is
``hop / latent_channels`` (``wave12``: strides 6, 4, 2 = hop 48 with 4 channels).

Residual units never run at the full sample rate (the first stride comes first), which keeps a
5 s clip's encode well under a second on one CPU core.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from musiclatent.architectures.base import AudioAutoencoder, fit_length, pad_to_multiple
from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.nn.modern_layers import DownBlock, UpBlock, WNConv1d, activation, product


class WaveAutoencoder(AudioAutoencoder):
    """Waveform autoencoder; every constructor argument is JSON-serialisable config.

    Args:
        channels: channels after the input convolution (doubled by each block).
        strides: downsampling factor of each block; their product is the hop.
        latent_channels: channels of the latent (values per frame).
        max_channels: cap on the channels of any block.
        dilations: dilations of the residual units inside each block.
        act: ``"snake"``, ``"elu"`` or ``"gelu"``.
        weight_norm: weight-normalise every convolution.
        sample_rate: the audio rate the model is trained at.
    """

    def __init__(self, channels: int = 16, strides: Sequence[int] = (6, 4, 2), latent_channels: int = 4,
                 max_channels: int = 64, dilations: Sequence[int] = (1, 3, 9), act: str = "snake",
                 weight_norm: bool = True, sample_rate: int = DEFAULT_SAMPLE_RATE):
        super().__init__()
        strides = [int(s) for s in strides]
        if not strides or any(s < 1 for s in strides):
            raise ValueError(f"strides must be positive integers, got {strides}")
        self.sample_rate = int(sample_rate)
        self.hop = product(strides)
        self.latent_channels = int(latent_channels)
        norm = bool(weight_norm)
        widths = [int(channels)]
        for _ in strides:
            widths.append(min(widths[-1] * 2, int(max_channels)))

        enc: list[nn.Module] = [nn.Conv1d(1, widths[0], 7, padding=3)]
        for i, s in enumerate(strides):
            enc.append(DownBlock(widths[i], widths[i + 1], s, dilations, act, norm))
        enc += [activation(act, widths[-1]), WNConv1d(widths[-1], self.latent_channels, 3, padding=1, norm=norm)]
        self.encoder = nn.Sequential(*enc)

        dec: list[nn.Module] = [WNConv1d(self.latent_channels, widths[-1], 7, padding=3, norm=norm)]
        for i in reversed(range(len(strides))):
            dec.append(UpBlock(widths[i + 1], widths[i], strides[i], dilations, act, norm))
        dec += [activation(act, widths[0]), nn.Conv1d(widths[0], 1, 7, padding=3), nn.Tanh()]
        self.decoder = nn.Sequential(*dec)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        """``wave[B, 1, T]`` -> ``latent[B, latent_channels, ceil(T / hop)]``."""
        return self.encoder(pad_to_multiple(wave, self.hop))

    def decode(self, latent: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """``latent[B, C, T']`` -> ``wave[B, 1, length]`` (default ``T' * hop``)."""
        return fit_length(self.decoder(latent), length)


__all__ = ["WaveAutoencoder"]
