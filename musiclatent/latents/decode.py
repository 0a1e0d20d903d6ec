"""Decode latents back to audio: a whole track from its segment rows, or any latent array.

The model is rebuilt from the checkpoint named in the table's metadata, and a checkpoint whose
sha256 differs from the one the table was encoded with is refused (``CheckpointError``): its
latents would decode to something else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from musiclatent.latents.table import LatentTable, LatentTableError


def _table(table: LatentTable | str | os.PathLike) -> LatentTable:
    return table if isinstance(table, LatentTable) else LatentTable.open(table)


def load_table_model(table: LatentTable | str | os.PathLike, checkpoint: str | os.PathLike | None = None,
                     device: str = "cpu"):
    """The model that made ``table``: ``checkpoint`` (default: the one in the metadata), sha256-checked.

    Raises ``CheckpointError`` when the file is missing or its sha256 differs from the table's.
    """
    from musiclatent.checkpoint import CheckpointError, load_checkpoint
    from musiclatent.model import select_device

    table = _table(table)
    meta = table.metadata
    path = Path(checkpoint or meta.get("checkpoint") or "")
    if not str(path) or not path.is_file():
        raise CheckpointError(
            f"{table.path}: the checkpoint it was encoded with ({path or 'unknown'}) is missing; "
            "pass --checkpoint with the same file"
        )
    model, _ = load_checkpoint(path, expected_sha256=meta.get("checkpoint_sha256"), device=select_device(device))
    segment = int(meta.get("segment_samples") or 0)
    if segment > 0:
        made = tuple(int(v) for v in model.latent_shape(segment))
        if made != tuple(table.latent_shape):
            raise LatentTableError(
                f"{table.path}: latents of shape {tuple(table.latent_shape)} but its model {path.name} makes "
                f"{made} from {segment}-sample segments; the table was not encoded by this model, re-encode it")
    return model


def _as_segments(latent: np.ndarray, latent_shape: tuple[int, int] | None, model) -> np.ndarray:
    """``[C,T']``, ``[S,C,T']``, ``[D]`` or ``[S,D]`` -> ``[S, C, T']`` float32."""
    x = np.asarray(latent, dtype=np.float32)
    if not np.isfinite(x).all():
        raise LatentTableError("latent holds NaN or infinite values; nothing to decode")
    if x.ndim == 3:
        return x
    if x.ndim == 2 and latent_shape is not None and tuple(x.shape) == tuple(latent_shape):
        return x[None]
    if x.ndim in (1, 2):
        flat = x.reshape(1, -1) if x.ndim == 1 else x
        if latent_shape is not None:
            c, t = latent_shape
            if flat.shape[1] != c * t:
                raise LatentTableError(
                    f"latent of {flat.shape[1]} values does not match the latent shape {c}x{t} = {c * t}")
            return flat.reshape(len(flat), c, t)
        if x.ndim == 2:
            return x[None]  # [C, T'] when no shape is known
        c = int(getattr(model, "latent_channels", 1))
        if flat.shape[1] % c:
            raise LatentTableError(f"latent of {flat.shape[1]} values is not a multiple of {c} channels")
        return flat.reshape(1, c, -1)
    raise LatentTableError(f"latent of shape {x.shape}: expected [C, T'], [S, C, T'], [D] or [S, D]")


def decode_latent(latent: np.ndarray, model, latent_shape: tuple[int, int] | None = None,
                  length: int | None = None, batch_size: int = 16) -> np.ndarray:
    """Decode ``latent`` (``[C,T']``, ``[S,C,T']``, flattened ``[D]`` or ``[S,D]``) to one wave.

    Each segment decodes to ``length`` samples (default ``T' * hop``); several segments are
    concatenated in order. Returns float32 ``[S * length]``.
    """
    import torch

    segs = _as_segments(latent, latent_shape, model)
    device = next(model.parameters()).device if any(True for _ in model.parameters()) else "cpu"
    pieces = []
    with torch.inference_mode():
        for i in range(0, len(segs), batch_size):
            z = torch.from_numpy(np.ascontiguousarray(segs[i:i + batch_size])).to(device)
            wave = model.decode(z, length=length)
            pieces.append(wave.float().cpu().numpy().reshape(len(z), -1))
    return np.concatenate(pieces).reshape(-1).astype(np.float32) if pieces else np.zeros(0, np.float32)


def decode_track(table: LatentTable | str | os.PathLike, track_id: str, model=None,
                 checkpoint: str | os.PathLike | None = None, device: str = "cpu",
                 batch_size: int = 16) -> tuple[np.ndarray, int]:
    """Rebuild one track from its segment rows: ``(wave float32 [samples], sample_rate)``.

    Segments are decoded at the table's segment length, cropped to their real ``duration_s``
    (the padded tail of the last one goes) and placed at their ``start_s``: the result is as long
    as the part of the track that was encoded.
    """
    table = _table(table)
    model = model if model is not None else load_table_model(table, checkpoint, device)
    meta = table.metadata
    sr, seg_len = int(meta["sample_rate"]), int(meta["segment_samples"])
    rows = table.segments(filters=[("track_id", "=", track_id)]).sort_values("segment")
    if rows.empty:
        raise LatentTableError(f"{table.path}: no track {track_id!r} in the table; see `musiclatent latents info`")
    latents = table.track_latents(track_id)
    decoded = decode_latent(latents, model, table.latent_shape, length=seg_len, batch_size=batch_size)
    decoded = decoded.reshape(len(latents), seg_len)
    starts = np.round(rows["start_s"].to_numpy(np.float64) * sr).astype(np.int64)
    lengths = np.minimum(np.round(rows["duration_s"].to_numpy(np.float64) * sr).astype(np.int64), seg_len)
    total = int((starts + lengths).max())
    wave = np.zeros(total, dtype=np.float32)
    for piece, start, n in zip(decoded, starts, lengths, strict=True):
        wave[start:start + n] = piece[:n]
    return wave, sr


def decode_request(table: LatentTable | str | os.PathLike, *, track_id: str | None = None,
                   latent: np.ndarray | str | os.PathLike | None = None,
                   checkpoint: str | os.PathLike | None = None, device: str = "cpu") -> tuple[np.ndarray, int]:
    """What ``musiclatent decode`` does: a track of ``table``, or a latent (array or ``.npy`` file)
    decoded with the table's model, as ``(wave, sample_rate)``. Exactly one of the two is given."""
    if (track_id is None) == (latent is None):
        raise ValueError("pass exactly one of a track id or a latent")
    table = _table(table)
    model = load_table_model(table, checkpoint, device)
    if track_id is not None:
        return decode_track(table, track_id, model=model)
    array = latent if isinstance(latent, np.ndarray) else load_latent_file(latent)
    meta = table.metadata
    wave = decode_latent(array, model, table.latent_shape, length=int(meta["segment_samples"]))
    return wave, int(meta["sample_rate"])


def decode_to_file(out: str | os.PathLike, wave: np.ndarray, sample_rate: int) -> Path:
    """Write ``wave`` as 16-bit WAV atomically (clipped to [-1, 1])."""
    from musiclatent.corpus.audio import write_audio

    return write_audio(out, wave, sample_rate)


def load_latent_file(path: str | os.PathLike) -> np.ndarray:
    """A ``.npy`` latent array, read without unpickling (``allow_pickle=False``)."""
    path = Path(path)
    try:
        data: Any = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise LatentTableError(f"{path}: no such latent file") from None
    except (ValueError, OSError) as exc:
        raise LatentTableError(f"{path}: not a plain .npy array ({exc}); save it with numpy.save") from None
    if not isinstance(data, np.ndarray) or not np.issubdtype(data.dtype, np.number):
        raise LatentTableError(f"{path}: not a numeric .npy array")
    return data


__all__ = ["decode_latent", "decode_to_file", "decode_track", "load_latent_file", "load_table_model"]
