"""A vector-quantised waveform autoencoder (VQ-VAE style, EMA codebook).

encode: conv stem, then one strided conv per stride (ELU between), a 1x1 projection to
``latent_channels``, then every latent frame is replaced by its nearest codebook vector.
decode: the mirror image with transposed convs. ``decode`` does not re-quantise, so latents made
elsewhere (interpolations, centroids) decode smoothly.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from musiclatent.plugin_api import AudioAutoencoder, fit_length, pad_to_multiple


class VectorQuantizer(nn.Module):
    """Nearest-neighbour codebook with exponential-moving-average updates (van den Oord et al.)."""

    def __init__(self, dim: int, size: int, decay: float = 0.99, eps: float = 1e-5):
        super().__init__()
        self.decay, self.eps = decay, eps
        self.register_buffer("codebook", torch.randn(size, dim) * 0.01)
        self.register_buffer("ema_count", torch.zeros(size))
        self.register_buffer("ema_weight", self.codebook.clone())
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z[B, C, T]`` -> (quantised ``[B, C, T]`` with straight-through gradient, codes ``[B, T]``)."""
        b, c, t = z.shape
        flat = z.permute(0, 2, 1).reshape(-1, c)
        if self.training and not bool(self.initialised):
            # data-dependent init: codebook from random latent frames of the first batch
            idx = torch.randint(0, flat.shape[0], (self.codebook.shape[0],), device=flat.device)
            self.codebook.copy_(flat[idx].detach())
            self.ema_weight.copy_(self.codebook)
            self.ema_count.fill_(1.0)
            self.initialised.fill_(True)
        distances = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.t()
                     + self.codebook.pow(2).sum(1)[None, :])
        codes = distances.argmin(1)
        quantised = self.codebook[codes]
        if self.training:
            with torch.no_grad():
                onehot = F.one_hot(codes, self.codebook.shape[0]).type_as(flat)
                self.ema_count.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
                self.ema_weight.mul_(self.decay).add_(onehot.t() @ flat.detach(), alpha=1 - self.decay)
                n = self.ema_count.sum()
                count = (self.ema_count + self.eps) / (n + self.codebook.shape[0] * self.eps) * n
                self.codebook.copy_(self.ema_weight / count[:, None])
        quantised = flat + (quantised - flat).detach()
        return quantised.reshape(b, t, c).permute(0, 2, 1), codes.reshape(b, t)


class VQAutoencoder(AudioAutoencoder):
    sample_rate = 22050

    def __init__(self, channels: int = 32, latent_channels: int = 4, strides=(4, 4, 3),
                 codebook_size: int = 512, commitment: float = 0.25, decay: float = 0.99):
        super().__init__()
        self.strides = [int(s) for s in strides]
        self.hop = math.prod(self.strides)
        self.latent_channels = int(latent_channels)
        self.commitment = float(commitment)
        enc: list[nn.Module] = [nn.Conv1d(1, channels, 7, padding=3)]
        for s in self.strides:
            enc += [nn.ELU(), nn.Conv1d(channels, channels, s, stride=s), nn.ELU(),
                    nn.Conv1d(channels, channels, 3, padding=1)]
        enc += [nn.ELU(), nn.Conv1d(channels, latent_channels, 1)]
        self.encoder = nn.Sequential(*enc)
        self.quantizer = VectorQuantizer(latent_channels, codebook_size, decay=decay)
        dec: list[nn.Module] = [nn.Conv1d(latent_channels, channels, 3, padding=1)]
        for s in reversed(self.strides):
            dec += [nn.ELU(), nn.ConvTranspose1d(channels, channels, s, stride=s), nn.ELU(),
                    nn.Conv1d(channels, channels, 3, padding=1)]
        dec += [nn.ELU(), nn.Conv1d(channels, 1, 7, padding=3)]
        self.decoder = nn.Sequential(*dec)
        self.aux_loss: torch.Tensor | None = None

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        z = self.encoder(pad_to_multiple(wave, self.hop))
        quantised, _ = self.quantizer(z)
        # commitment loss: keeps encoder outputs close to their codes (added by the trainer)
        self.aux_loss = self.commitment * F.mse_loss(z, quantised.detach())
        return quantised

    def decode(self, latent: torch.Tensor, length: int | None = None) -> torch.Tensor:
        return fit_length(self.decoder(latent), length)
