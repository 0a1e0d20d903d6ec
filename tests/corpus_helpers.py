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
