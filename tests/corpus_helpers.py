"""Tiny audio fixtures for the corpus tests (written under pytest's tmp_path only)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf


def sine(seconds: float, sr: int, freq: float = 440.0, channels: int = 1, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    wave = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return wave if channels == 1 else np.repeat(wave[:, None], channels, axis=1)


def write(path: str | bytes | os.PathLike, data: np.ndarray, sr: int = 22050, subtype: str = "PCM_16") -> Path:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(os.fsencode(path), data, sr, subtype=subtype, format="WAV")
    return Path(os.fsdecode(path))


def gtzan_like(root: Path, genres=("blues", "jazz"), per_genre: int = 3, seconds: float = 2.0, sr: int = 22050) -> Path:
    for g, genre in enumerate(genres):
        for i in range(per_genre):
            write(root / genre / f"{genre}.{i:05d}.wav", sine(seconds, sr, freq=220.0 * (g + 1) + 10 * i), sr)
    return root


def alt5_corpus_and_checkpoint(tmp_path: Path, broken_file: bool = False) -> tuple[Path, Path]:
    """A 6-track corpus of 2 s clips (optionally one broken file) and an untrained alt5 checkpoint
    with 1 s segments: what the kill/resume and concurrency tests encode."""
    import torch

    from musiclatent.checkpoint import save_checkpoint
    from musiclatent.corpus.synth import synthesize_corpus
    from musiclatent.plugins import get_registry

    torch.set_num_threads(1)
    corpus = tmp_path / "corpus"
    synthesize_corpus(corpus, tracks_per_genre=2, seconds=2.0, seed=0, genres=("blues", "jazz", "rock"),
                      progress=False)
    if broken_file:
        (corpus / "genres" / "rock" / "broken.wav").write_bytes(b"RIFF\x00\x00not audio")
    torch.manual_seed(0)
    model = get_registry().architecture("alt5").build()
    ckpt = save_checkpoint(tmp_path / "alt5.safetensors", model, model_name="alt5",
                           training={"segment_seconds": 1.0})
    return corpus, ckpt
