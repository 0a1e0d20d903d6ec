"""Tiny fakes for the latent tests: a small conv autoencoder registered as a plugin, a tiny corpus.

Written under pytest's tmp_path only; the model runs at 8 kHz so everything stays fast.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from musiclatent.architectures.base import AudioAutoencoder, fit_length, pad_to_multiple
from musiclatent.hookspecs import hookimpl
from musiclatent.registry import ArchitectureSpec

FAKE = "fakeae"
RATE = 8000


class FakeAE(AudioAutoencoder):
    """wave[B,1,T] -> latent[B,2,ceil(T/8)] and back (linear, so a few steps train it a little)."""

    sample_rate = RATE
    hop = 8
    latent_channels = 2

    def __init__(self, width: int = 2):
        super().__init__()
        self.latent_channels = width
        self.enc = nn.Conv1d(1, width, kernel_size=8, stride=8)
        self.dec = nn.ConvTranspose1d(width, 1, kernel_size=8, stride=8)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        return self.enc(pad_to_multiple(wave, self.hop))

    def decode(self, latent: torch.Tensor, length: int | None = None) -> torch.Tensor:
        return fit_length(self.dec(latent), length)


class FakePlugin:
    @hookimpl
    def register_architectures(self, register):
        register(ArchitectureSpec(name=FAKE, description="test autoencoder", factory=FakeAE,
                                  defaults={"width": 2}, sample_rate=RATE))


def register_fake(plugins_module) -> None:
    plugins_module.register_plugin(FakePlugin(), name="fake-latents")


def register_fake_in_worker() -> None:
    """A Ray ``worker_process_setup_hook``: the fake architecture in every worker process too."""
    from musiclatent import plugins

    register_fake(plugins)


def save_fake_checkpoint(path: Path, seed: int = 0, segment_seconds: float = 1.0, **meta) -> Path:
    from musiclatent.checkpoint import save_checkpoint
    from musiclatent.plugins import get_registry

    torch.manual_seed(seed)
    model = get_registry().architecture(FAKE).build()
    return save_checkpoint(path, model, model_name=FAKE, training={"segment_seconds": segment_seconds}, **meta)


def make_corpus(root: Path, genres=("blues", "jazz", "rock"), seconds: float = 2.5) -> Path:
    """One synthetic track per genre (GTZAN layout) at 8 kHz."""
    from musiclatent.corpus.synth import synthesize_corpus

    synthesize_corpus(root, tracks_per_genre=1, seconds=seconds, seed=0, sample_rate=RATE,
                      genres=genres, progress=False)
    return root


def scan(root: Path):
    from musiclatent.corpus.manifest import scan_corpus

    return scan_corpus(root, sample_rate=RATE, jobs=1, progress=False)
