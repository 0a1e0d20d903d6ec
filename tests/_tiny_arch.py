"""A tiny architecture registered by a fake plugin, for fast training tests."""

from __future__ import annotations

import torch
from torch import nn

from musiclatent.architectures.base import AudioAutoencoder, fit_length, pad_to_multiple
from musiclatent.hookspecs import hookimpl
from musiclatent.registry import ArchitectureSpec

TINY_RECIPE = {"loss": "mse", "lr": 0.01, "epochs": 3, "batch_size": 4, "eval_batch_size": 8,
               "optimizer": "adam", "scheduler": {"name": "step", "step_size": 1, "gamma": 0.5}}


class TinyAE(AudioAutoencoder):
    hop = 4

    def __init__(self, channels: int = 2, dropout: float = 0.1):
        super().__init__()
        self.latent_channels = channels
        self.enc = nn.Conv1d(1, channels, 8, stride=4, padding=2)
        self.drop = nn.Dropout(dropout)  # uses the torch RNG: resume must restore it
        self.dec = nn.ConvTranspose1d(channels, 1, 8, stride=4, padding=2)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        return self.drop(self.enc(pad_to_multiple(wave, self.hop)))

    def decode(self, latent: torch.Tensor, length: int | None = None) -> torch.Tensor:
        return fit_length(self.dec(latent), length)


class TinyPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(ArchitectureSpec(name="tiny", description="test model", factory=TinyAE,
                                  defaults={"channels": 2, "dropout": 0.1}, recipe=TINY_RECIPE))


class PoisonedAE(TinyAE):
    """TinyAE that goes wrong at a chosen training batch (counted from 1 across epochs):
    ``poison="loss"`` returns NaN, ``"grad"`` keeps the output finite but makes the gradient NaN,
    ``"val"`` returns NaN in eval mode from that batch on (validation, reconstruction)."""

    def __init__(self, channels: int = 2, dropout: float = 0.1, poison: str = "grad", poison_at: int = 5):
        super().__init__(channels, dropout)
        self.poison, self.poison_at, self.batches = poison, int(poison_at), 0

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        out = super().forward(wave)
        if self.training:
            self.batches += 1
            if self.batches == self.poison_at:
                if self.poison == "loss":
                    return out * float("nan")
                if self.poison == "grad":  # value 0, gradient 0 * inf = NaN
                    return out + 0.0 * torch.sqrt(0.0 * self.enc.weight.sum())
        elif self.poison == "val" and self.batches >= self.poison_at:
            return out * float("nan")
        return out


class PoisonPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(ArchitectureSpec(name="tiny-poisoned", description="test model that goes NaN",
                                  factory=PoisonedAE, defaults={"channels": 2, "dropout": 0.1, "poison": "grad",
                                                                "poison_at": 5}, recipe=TINY_RECIPE))
