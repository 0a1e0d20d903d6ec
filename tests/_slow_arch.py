"""A tiny architecture whose ``encode`` sleeps, installed as a plugin on every node of the Ray test cluster.

``tests/test_ray_cluster.py`` copies this file into a folder with a ``.dist-info`` entry point (a
real, if minimal, installed plugin) and puts that folder on the ``PYTHONPATH`` of the cluster's
processes, so the Ray workers rebuild this model from the registry exactly as a cluster node with
a plugin installed would. The sleep only slows inference down so that a node can be killed while
work is still in flight; it never changes what is encoded.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from musiclatent.architectures.base import AudioAutoencoder, fit_length, pad_to_multiple
from musiclatent.hookspecs import hookimpl
from musiclatent.registry import ArchitectureSpec

ENCODE_SLEEP_S = 0.4
NAME = "slowtiny"


class SlowTinyAE(AudioAutoencoder):
    hop = 4

    def __init__(self, channels: int = 2):
        super().__init__()
        self.latent_channels = channels
        self.enc = nn.Conv1d(1, channels, 8, stride=4, padding=2)
        self.dec = nn.ConvTranspose1d(channels, 1, 8, stride=4, padding=2)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        time.sleep(ENCODE_SLEEP_S)
        return self.enc(pad_to_multiple(wave, self.hop))

    def decode(self, latent: torch.Tensor, length: int | None = None) -> torch.Tensor:
        return fit_length(self.dec(latent), length)


@hookimpl
def register_architectures(register):
    register(ArchitectureSpec(name=NAME, description="tiny conv model with a slow encode (Ray cluster test)",
                              factory=SlowTinyAE, defaults={"channels": 2}))
