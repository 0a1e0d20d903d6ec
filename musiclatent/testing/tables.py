"""Tiny inputs for testing analyses (ours and plugin authors'): synthetic latent tables and a tiny
codec with a real checkpoint, corpus and table, all small enough to run in a second on a laptop.

- :func:`write_synthetic_table`: a latent table of random latents clustered by label (no model);
- :func:`tiny_model_table`: WAV files + a :class:`TinyCodec` checkpoint + the table they encode to,
  for analyses with ``needs_model=True``. Register the codec first with :func:`register_tiny_codec`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from musiclatent.hookspecs import hookimpl
from musiclatent.registry import ArchitectureSpec

TINY_CODEC = "tinycodec"
TINY_RATE = 8000
TINY_SEGMENT = 256  # samples; the codec's hop is 32, so latents are [4, 8]
TINY_PLUGIN_NAME = "musiclatent-tiny-codec"


def tiny_codec_factory(channels: int = 4, hop: int = 32):
    """A linear strided-conv autoencoder: ``wave[B,1,T] -> latent[B,channels,ceil(T/hop)]``."""
    from torch import nn

    from musiclatent.architectures.base import AudioAutoencoder, fit_length, pad_to_multiple

    class TinyCodec(AudioAutoencoder):
        sample_rate = TINY_RATE

        def __init__(self):
            super().__init__()
            self.hop, self.latent_channels = hop, channels
            self.enc = nn.Conv1d(1, channels, hop, stride=hop)
            self.dec = nn.ConvTranspose1d(channels, 1, hop, stride=hop)

        def encode(self, wave):
            return self.enc(pad_to_multiple(wave, self.hop))

        def decode(self, latent, length=None):
            return fit_length(self.dec(latent), length)

    return TinyCodec()


class TinyCodecPlugin:
    """A plugin registering :func:`tiny_codec_factory` as ``tinycodec``."""

    @hookimpl
    def register_architectures(self, register):
        register(ArchitectureSpec(name=TINY_CODEC, description="tiny test codec",
                                  factory=tiny_codec_factory, defaults={"channels": 4, "hop": 32},
                                  sample_rate=TINY_RATE))


def register_tiny_codec() -> None:
    """Register the tiny codec plugin (idempotent)."""
    from musiclatent import plugins

    pm = plugins.get_plugin_manager()
    if pm.get_plugin(TINY_PLUGIN_NAME) is None:
        plugins.register_plugin(TinyCodecPlugin(), name=TINY_PLUGIN_NAME)


def synthetic_latents(n_tracks: int = 40, n_segments: int = 2, latent_shape=(4, 8), n_labels: int = 4,
                      seed: int = 0, spread: float = 0.3):
    """``(latents[n_tracks, S, C, T'], labels)``: each label has its own per-channel level and
    wiggle, tracks are noisy copies, so mean, meanstd and flatten poolings all separate labels."""
    rng = np.random.default_rng(seed)
    c, t = latent_shape
    centers = rng.normal(0, 1.5, size=(n_labels, c, 1)) + rng.normal(0, 1, size=(n_labels, c, t))
    labels = np.array([f"genre{i % n_labels}" for i in range(n_tracks)], dtype=object)
    idx = np.arange(n_tracks) % n_labels
    lat = centers[idx][:, None] + rng.normal(0, spread, size=(n_tracks, n_segments, c, t))
    return lat.astype(np.float32), labels


def write_synthetic_table(path: str | os.PathLike, n_tracks: int = 40, n_segments: int = 2,
                          latent_shape=(4, 8), n_labels: int = 4, seed: int = 0,
                          track_ids=None, labels=None, **metadata: Any) -> Path:
    """Write a latent table of :func:`synthetic_latents` (rows ``track_id = <label>/<label>.000NN``)."""
    from musiclatent.latents.writer import LatentTableWriter

    lat, default_labels = synthetic_latents(n_tracks, n_segments, latent_shape, n_labels, seed)
    labels = list(default_labels if labels is None else labels)
    ids = list(track_ids) if track_ids is not None else [f"{lab}/{lab}.{i:05d}" for i, lab in enumerate(labels)]
    splits = ["test" if i % 10 == 0 else ("validation" if i % 10 == 1 else "train") for i in range(n_tracks)]
    meta = {"model": "synthetic", "sample_rate": TINY_RATE, "segment_samples": TINY_SEGMENT,
            "latent_shape": [int(v) for v in latent_shape], **metadata}
    with LatentTableWriter(path, meta, resume=False) as writer:
        for i in range(n_tracks):
            rows = segment_rows(ids[i], f"{ids[i]}.wav", labels[i], splits[i], n_segments)
            writer.write(rows, lat[i])
    return Path(path)


def segment_rows(track_id, path, label, split, n_segments, seg_seconds=TINY_SEGMENT / TINY_RATE):
    """The table rows (columns as lists) of one track's ``n_segments`` consecutive segments."""
    return {"track_id": [track_id] * n_segments, "path": [path] * n_segments,
            "label": [label] * n_segments, "split": [split] * n_segments,
            "segment": list(range(n_segments)),
            "start_s": [s * seg_seconds for s in range(n_segments)],
            "duration_s": [seg_seconds] * n_segments}


def tiny_wave(label_index: int, n_samples: int, rng) -> np.ndarray:
    """A tone whose pitch and loudness depend on the label, plus a little noise."""
    t = np.arange(n_samples) / TINY_RATE
    freq = 300.0 * (1 + label_index)
    amp = 0.2 + 0.15 * label_index
    return (amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.28)) + rng.normal(0, 0.02, n_samples)).astype(np.float32)


def tiny_model_table(folder: str | os.PathLike, n_tracks: int = 40, n_labels: int = 4,
                     n_segments: int = 2, seed: int = 0) -> Path:
    """Make ``folder/corpus`` (WAVs), ``folder/tiny.safetensors`` and ``folder/latents.parquet``.

    The table is what encoding the corpus with the checkpoint gives (the same segmenting as
    ``AnalysisContext.encode_wave``); returns its path. Call :func:`register_tiny_codec` first.
    """
    import soundfile as sf
    import torch

    from musiclatent.checkpoint import save_checkpoint
    from musiclatent.fileio import sha256_file
    from musiclatent.latents.writer import LatentTableWriter
    from musiclatent.plugins import get_registry

    folder = Path(folder)
    corpus = folder / "corpus"
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model = get_registry().architecture(TINY_CODEC).build()
    ckpt = save_checkpoint(folder / "tiny.safetensors", model, model_name=TINY_CODEC)
    meta = {"model": TINY_CODEC, "arch": TINY_CODEC, "config": model.arch_config, "checkpoint": str(ckpt),
            "checkpoint_sha256": sha256_file(ckpt), "sample_rate": TINY_RATE,
            "segment_samples": TINY_SEGMENT, "latent_shape": [model.latent_channels, TINY_SEGMENT // model.hop],
            "corpus_root": str(corpus)}
    table = folder / "latents.parquet"
    with LatentTableWriter(table, meta, resume=False) as writer:
        for i in range(n_tracks):
            label = f"genre{i % n_labels}"
            track_id = f"{label}/{label}.{i:05d}"
            wave = tiny_wave(i % n_labels, n_segments * TINY_SEGMENT, rng)
            (corpus / label).mkdir(parents=True, exist_ok=True)
            sf.write(corpus / f"{track_id}.wav", wave, TINY_RATE, subtype="FLOAT")
            segs = torch.from_numpy(wave.reshape(n_segments, 1, TINY_SEGMENT))
            with torch.no_grad():
                lat = model.encode(segs).numpy()
            split = "test" if i % 10 == 0 else ("validation" if i % 10 == 1 else "train")
            writer.write(segment_rows(track_id, f"{track_id}.wav", label, split, n_segments), lat)
    return table


__all__ = [
    "TINY_CODEC",
    "TINY_RATE",
    "TINY_SEGMENT",
    "TinyCodecPlugin",
    "register_tiny_codec",
    "segment_rows",
    "synthetic_latents",
    "tiny_model_table",
    "tiny_wave",
    "write_synthetic_table",
]
