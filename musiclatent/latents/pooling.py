"""Pooling segment latents ``[S, C, T']`` into one vector per track.

A waveform autoencoder's latent is itself waveform-like: averaged over time it is close to zero
for every channel, so plain ``mean`` pooling throws most of the information away. The default is
therefore ``meanstd``: per channel, the mean and the standard deviation over time, averaged over
the track's segments (``2C`` values). Every pooling is an average over segments of a per-segment
feature, so a track can be pooled in streaming batches (``segment_features`` then
``finish_pooling`` on the per-track mean) without holding all its segments.

==========  ==========  ===========================================================
pooling     size        per segment, then averaged over segments
==========  ==========  ===========================================================
meanstd     2C          per-channel mean over time, then per-channel std over time
mean        C           per-channel mean over time
rms         C           per-channel mean square over time; square root at the end
flatten     C*T'        the flattened latent itself
==========  ==========  ===========================================================

Segments count equally (the zero-padded tail of a track's last segment is included).
"""

from __future__ import annotations

import numpy as np

from musiclatent.latents.errors import LatentTableError

POOLINGS: frozenset[str] = frozenset({"mean", "meanstd", "flatten", "rms"})
DEFAULT_POOLING = "meanstd"


class PoolingError(LatentTableError, ValueError):
    """An unknown pooling name or a latent of the wrong shape."""


def check_pooling(pooling: str) -> str:
    """Return ``pooling`` if known, else raise ``PoolingError`` listing the choices."""
    if pooling not in POOLINGS:
        raise PoolingError(f"unknown pooling {pooling!r}; choose one of {', '.join(sorted(POOLINGS))}")
    return pooling


def pooled_size(latent_shape: tuple[int, int], pooling: str) -> int:
    """Length of the track vector ``pooling`` makes from latents of shape ``(C, T')``."""
    c, t = (int(v) for v in latent_shape)
    return {"mean": c, "rms": c, "meanstd": 2 * c, "flatten": c * t}[check_pooling(pooling)]


def segment_features(latents: np.ndarray, pooling: str) -> np.ndarray:
    """Per-segment features ``[N, D']`` of ``latents[N, C, T']`` whose segment-mean is then finished."""
    check_pooling(pooling)
    x = np.asarray(latents, dtype=np.float32)
    if x.ndim != 3:
        raise PoolingError(f"expected latents of shape [segments, C, T'], got {x.shape}")
    if pooling == "flatten":
        return x.reshape(x.shape[0], -1)
    x64 = x.astype(np.float64)
    if pooling == "mean":
        return x64.mean(axis=2).astype(np.float32)
    if pooling == "rms":
        return (x64**2).mean(axis=2).astype(np.float32)
    return np.concatenate([x64.mean(axis=2), x64.std(axis=2)], axis=1).astype(np.float32)


def finish_pooling(mean_features: np.ndarray, pooling: str) -> np.ndarray:
    """Turn the segment-mean of ``segment_features`` into the pooled vector(s)."""
    check_pooling(pooling)
    out = np.asarray(mean_features, dtype=np.float32)
    if pooling == "rms":
        out = np.sqrt(np.maximum(out, 0.0))
    return out


def pool_track(latents: np.ndarray, pooling: str = DEFAULT_POOLING) -> np.ndarray:
    """Pool one track's segment latents ``[S, C, T']`` into a vector (see the module table)."""
    x = np.asarray(latents, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[0] == 0:
        raise PoolingError(f"expected latents of shape [segments, C, T'] with segments > 0, got {x.shape}")
    feats = segment_features(x, pooling).astype(np.float64)
    return finish_pooling(feats.mean(axis=0), pooling)


__all__ = [
    "DEFAULT_POOLING",
    "POOLINGS",
    "PoolingError",
    "check_pooling",
    "finish_pooling",
    "pool_track",
    "pooled_size",
    "segment_features",
]
