"""Classical audio features used as baselines beside the latents (MFCC mean+std per track)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

N_MFCC = 20


def mfcc_vector(wave: np.ndarray, sample_rate: int, n_mfcc: int = N_MFCC, delta: bool = False) -> np.ndarray:
    """MFCC (torchaudio) of ``wave[T]``: mean and std over time of each coefficient (``2*n_mfcc``);
    ``delta`` adds the std of each coefficient's frame-to-frame difference (``3*n_mfcc``, the
    statistics of the ``meanstddelta`` pooling)."""
    import torch

    n_fft = 2048 if len(wave) >= 2048 else max(64, 1 << int(np.log2(max(len(wave), 64))))
    n_mels = min(64, n_fft // 4)
    transform = _mfcc(sample_rate, n_mfcc=min(n_mfcc, n_mels), n_fft=n_fft, n_mels=n_mels)
    with torch.no_grad():
        m = transform(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))).numpy()
    stats = [m.mean(axis=1), m.std(axis=1)]
    if delta:
        stats.append(np.diff(m, axis=1).std(axis=1) if m.shape[1] > 1 else np.zeros(m.shape[0], np.float32))
    return np.concatenate(stats).astype(np.float32)


_cache: dict = {}


def _mfcc(sample_rate: int, n_mfcc: int, n_fft: int, n_mels: int):
    key = (sample_rate, n_mfcc, n_fft, n_mels)
    if key not in _cache:
        import torchaudio

        _cache[key] = torchaudio.transforms.MFCC(
            sample_rate=sample_rate, n_mfcc=n_mfcc,
            melkwargs={"n_fft": n_fft, "hop_length": n_fft // 4, "n_mels": n_mels},
        )
    return _cache[key]


def mfcc_matrix(paths: Iterable[str], read: Callable[[str], np.ndarray], sample_rate: int,
                progress: bool = True) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """MFCC vectors of ``paths`` read with ``read``; returns ``(X[ok], ok_mask, problems)``.

    An unreadable file is skipped and its problem listed, never an abort.
    """
    from tqdm import tqdm

    paths = list(paths)
    vectors, ok, problems = [], np.zeros(len(paths), dtype=bool), []
    for i, path in enumerate(tqdm(paths, desc="MFCC baseline", unit="track", disable=None if progress else True)):
        try:
            wave = read(path)
            if len(wave) == 0:
                raise ValueError("empty audio")
            vectors.append(mfcc_vector(wave, sample_rate))
            ok[i] = True
        except Exception as exc:  # one bad file must not stop the baseline
            problems.append(f"{path}: {exc}")
    X = np.stack(vectors) if vectors else np.zeros((0, 2 * N_MFCC), dtype=np.float32)
    return X, ok, problems


def _n_fft_for(length: int, preferred: int = 1024) -> int:
    n = preferred
    while n > 64 and n > length // 2:
        n //= 2
    return n


def spectrogram_frame(wave: np.ndarray, sample_rate: int, kind: str = "mel", n_mels: int = 48,
                      max_frames: int = 96):
    """A long DataFrame ``time_s, bin, freq_hz, db`` of a (mel) spectrogram for heatmap charts.

    ``kind`` is ``"mel"`` (torchaudio MelSpectrogram) or ``"linear"`` (Spectrogram, bins pooled
    to ``n_mels`` rows). Frames are averaged down to at most ``max_frames`` so charts stay small.
    """
    import pandas as pd
    import torch
    import torchaudio

    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    n_fft = _n_fft_for(len(wave))
    hop = n_fft // 4
    x = torch.from_numpy(np.ascontiguousarray(wave))
    with torch.no_grad():
        if kind == "mel":
            mels = min(n_mels, n_fft // 4)
            spec = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=n_fft, hop_length=hop,
                                                        n_mels=mels)(x).numpy()
            freqs = torchaudio.functional.melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, mels,
                                                          sample_rate).numpy().argmax(axis=0)
            freqs = freqs * (sample_rate / n_fft)
        else:
            spec = torchaudio.transforms.Spectrogram(n_fft=n_fft, hop_length=hop, power=2.0)(x).numpy()
            groups = np.array_split(np.arange(spec.shape[0]), min(n_mels, spec.shape[0]))
            freqs = np.array([g[0] * sample_rate / n_fft for g in groups])
            spec = np.stack([spec[g].mean(axis=0) for g in groups])
    db = 10.0 * np.log10(np.maximum(spec, 1e-10))
    frames = np.array_split(np.arange(db.shape[1]), min(max_frames, db.shape[1]))
    db = np.stack([db[:, f].mean(axis=1) for f in frames], axis=1)
    times = np.array([f[0] * hop / sample_rate for f in frames] + [(frames[-1][-1] + 1) * hop / sample_rate])
    edges = np.append(freqs, freqs[-1] + (freqs[-1] - freqs[-2] if len(freqs) > 1 else 1.0))
    rows, cols = np.meshgrid(np.arange(db.shape[0]), np.arange(db.shape[1]), indexing="ij")
    r, c = rows.ravel(), cols.ravel()
    return pd.DataFrame({"time_s": times[c].round(4), "time_end": times[c + 1].round(4),
                         "bin": r, "bin_end": r + 1, "freq_hz": edges[r].round(1),
                         "freq_end": edges[r + 1].round(1), "db": db.ravel().round(2)})


def waveform_frame(wave: np.ndarray, sample_rate: int, points: int = 800):
    """``time_s, lo, hi, mid``: a min/max envelope of ``wave`` in ``points`` bins (for area charts)."""
    import pandas as pd

    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    bins = np.array_split(np.arange(len(wave)), min(points, max(1, len(wave))))
    frame = pd.DataFrame({
        "time_s": [b[0] / sample_rate for b in bins],
        "lo": [float(wave[b].min()) for b in bins],
        "hi": [float(wave[b].max()) for b in bins],
    })
    frame["mid"] = (frame["lo"] + frame["hi"]) / 2
    return frame
