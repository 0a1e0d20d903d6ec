"""The contract every architecture fulfils: ``AudioAutoencoder``.

A model maps a waveform batch ``[B, 1, T]`` to a latent ``[B, C, T']`` and back to ``[B, 1, T]``
for any ``T``: it pads the input up to a multiple of its hop inside ``encode`` and the caller
(or ``forward``) crops the decoded waveform back to ``T``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE


class AudioAutoencoder(nn.Module):
    """Base class for musiclatent autoencoders.

    Subclasses implement ``encode`` and ``decode`` and set ``sample_rate``. ``hop`` (samples per
    latent frame) and ``latent_channels`` are used by the default ``latent_shape``; override
    ``latent_shape`` when the latent length is not ``ceil(T / hop)``.

    ``arch_name`` and ``arch_config`` are filled in by ``ArchitectureSpec.build`` and are what a
    checkpoint stores to rebuild the model.

    ``aux_loss``: a model with a training objective beyond reconstruction (a VQ commitment term,
    a VAE's KL divergence) sets this scalar tensor during ``encode``/``forward``; the trainer adds
    it to the reconstruction loss. ``None`` (the default) means nothing to add.

    ``joint_decode``: whether the latents of consecutive segments, concatenated along time, decode
    as one sequence (what ``decode_track`` does for a seamless track). ``False`` for a model that
    codes each segment on its own terms (``hybrid12`` treats a segment as periodic): its segments
    are decoded one by one.

    ``latent_view``: how analyses should read the channels before pooling them (stored in the
    latent table's metadata; ``musiclatent.latents.pooling`` documents the keys). ``None`` (the
    default) reads them as they are; ``hybrid12`` declares ``{"log_power": [0, 24]}`` because its
    first 24 channels are signed waveform coefficients whose band energy, not sign, is the music.

    ``mean_latent``: the latent analyses decode as the centre of several (a genre centroid). The
    default is the element-wise mean; a model whose latent is not a vector space overrides it
    (``sparse12``'s bin numbers and signed values average to nothing, so it averages power).
    """

    aux_loss: torch.Tensor | None = None
    joint_decode: bool = True
    latent_view: dict[str, Any] | None = None

    sample_rate: int = DEFAULT_SAMPLE_RATE
    hop: int = 1
    latent_channels: int = 1
    arch_name: str = ""
    arch_config: dict[str, Any]

    def encode(self, wave: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """``wave[B, 1, T]`` -> ``latent[B, C, T']``."""
        raise NotImplementedError

    def decode(self, latent: torch.Tensor, length: int | None = None) -> torch.Tensor:  # pragma: no cover
        """``latent[B, C, T']`` -> ``wave[B, 1, length]`` (``length`` defaults to ``T' * hop``)."""
        raise NotImplementedError

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(wave), length=wave.shape[-1])

    def mean_latent(self, latents: torch.Tensor) -> torch.Tensor:
        """The centre of ``latents[N, C, T']`` as one latent ``[C, T']`` that ``decode`` reads (a
        genre centroid): the element-wise mean unless the model says otherwise."""
        return latents.mean(dim=0)

    def latent_shape(self, length: int) -> tuple[int, int]:
        """``(C, T')`` of the latent for an input of ``length`` samples."""
        return self.latent_channels, math.ceil(length / self.hop)

    def latent_size(self, length: int) -> int:
        c, t = self.latent_shape(length)
        return c * t

    def encoding_scale(self, length: int) -> float:
        """Input samples per latent value (the seed report's "Encoding Scale: 1/x" is this x)."""
        return length / self.latent_size(length)


def pad_to_multiple(wave: torch.Tensor, multiple: int) -> torch.Tensor:
    """Right-pad the last axis with zeros to a multiple of ``multiple``."""
    extra = (-wave.shape[-1]) % multiple
    return nn.functional.pad(wave, (0, extra)) if extra else wave


def fit_length(wave: torch.Tensor, length: int | None) -> torch.Tensor:
    """Crop or zero-pad the last axis to ``length`` (``None``: unchanged)."""
    if length is None:
        return wave
    if wave.shape[-1] >= length:
        return wave[..., :length]
    return nn.functional.pad(wave, (0, length - wave.shape[-1]))


def count_parameters(model: nn.Module) -> int:
    """The number of parameter values (trainable or not) of ``model``."""
    return sum(p.numel() for p in model.parameters())
