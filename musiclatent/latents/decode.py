"""Decode latents back to audio: a whole track from its segment rows, or any latent array.

The model is rebuilt from the checkpoint named in the table's metadata, and a checkpoint whose
sha256 differs from the one the table was encoded with is refused (``CheckpointError``): its
latents would decode to something else.

A whole track is decoded *seamlessly*: its segment latents are concatenated along time and
decoded as one latent sequence, so the decoder sees context across every segment boundary
(``decode_frames``). Long tracks are decoded in windows of ``chunk_seconds`` that overlap by
``overlap_seconds`` and are cross-faded in the middle of each overlap, so memory stays bounded
and the window edges (where the decoder sees zero padding) never reach the output. Models whose
latent is not one frame per ``hop`` samples (``alt2``'s extra frames) fall back to decoding each
segment on its own. docs/latents.md argues the choice and gives the measured seam energies.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from musiclatent.latents.errors import LatentTableError
from musiclatent.latents.reader import LatentTable


def _table(table: LatentTable | str | os.PathLike) -> LatentTable:
    return table if isinstance(table, LatentTable) else LatentTable.open(table)


def load_table_model(table: LatentTable | str | os.PathLike, checkpoint: str | os.PathLike | None = None,
                     device: str = "cpu"):
    """The model that made ``table``: ``checkpoint`` (default: the one in the metadata), sha256-checked.

    A missing file is looked for among the shipped pretrained checkpoints by its sha256. Raises
    ``CheckpointError`` when the file is missing or its sha256 differs from the table's.
    """
    from musiclatent.checkpoint import CheckpointError, find_pretrained, load_checkpoint
    from musiclatent.devices import select_device

    table = _table(table)
    meta = table.metadata
    path = Path(checkpoint or meta.get("checkpoint") or "")
    if checkpoint is None and not path.is_file():
        # encoded with shipped pretrained weights by another install (or before an upgrade moved them)
        path = find_pretrained(meta.get("checkpoint_sha256")) or path
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
    from musiclatent.latents.inference import batched

    segs = _as_segments(latent, latent_shape, model)
    waves = batched(lambda z: model.decode(z, length=length).reshape(len(z), -1), segs, batch_size,
                    model_device(model))
    return waves.reshape(-1).astype(np.float32)


def model_device(model):
    """Where ``model``'s weights are (``"cpu"`` for a model without any)."""
    return next(model.parameters()).device if any(True for _ in model.parameters()) else "cpu"


CHUNK_SECONDS = 20.0  # audio decoded per window of a whole-track decode (bounds memory)
OVERLAP_SECONDS = 1.0  # overlap of consecutive windows; the cross-fade is its middle half


def frame_aligned(model, segment_samples: int, latent_shape: tuple[int, int] | None) -> bool:
    """Whether ``model``'s latent is one frame per ``model.hop`` samples, so segment latents can be
    concatenated along time and decoded as one sequence."""
    hop = int(getattr(model, "hop", 0) or 0)
    if hop < 1 or latent_shape is None or not getattr(model, "joint_decode", True):
        return False
    try:
        c, t = model.latent_shape(int(segment_samples))
        probe = model.latent_shape(3 * hop)
    except Exception:  # noqa: BLE001 - a model without a usable latent_shape just decodes per segment
        return False
    return (int(c), int(t)) == tuple(int(v) for v in latent_shape) and tuple(probe) == (c, 3)


def _frame_period(model) -> int:
    """Latent frames between window starts that keep a decoder's absolute-time reference: an iSTFT
    head's bin-centred phase (``2 pi k hop f / n_fft``) repeats every ``n_fft / gcd(n_fft, hop)``
    frames; other decoders have no reference (1)."""
    n_fft = getattr(model, "n_fft", None)
    if not isinstance(n_fft, int) or n_fft < 1:
        return 1
    return n_fft // math.gcd(n_fft, int(model.hop))


def _windows(frames: int, chunk: int, overlap: int, period: int = 1) -> list[tuple[int, int]]:
    """``(first, end)`` latent frames of each window: starts every ``step`` frames (a multiple of
    ``period``), so consecutive windows overlap by at least ``overlap`` frames and only neighbours
    overlap (``chunk >= 2 * (overlap + period)``); the last one ends at ``frames``."""
    if frames <= chunk:
        return [(0, frames)]
    step = max(period, (chunk - overlap) // period * period)
    out, first = [], 0
    while first + chunk < frames:
        out.append((first, first + chunk))
        first += step
    out.append((first, frames))
    return out


def decode_frames(latent: np.ndarray, model, chunk_frames: int, overlap_frames: int) -> np.ndarray:
    """Decode one latent sequence ``[C, N]`` to ``N * model.hop`` samples in overlapping windows.

    Windows of ``chunk_frames`` frames overlap by at least ``overlap_frames`` (the last one ends
    at frame ``N``; starts keep the decoder's time reference, ``_frame_period``); in each
    overlap the earlier window fades out and the later one fades in, linearly over the middle
    half, so the weights sum to one everywhere and no sample comes from within a quarter overlap
    of a window edge.
    """
    import torch

    z = np.ascontiguousarray(np.asarray(latent, dtype=np.float32))
    if z.ndim != 2 or not np.isfinite(z).all():
        raise LatentTableError(f"a latent sequence must be finite [C, N], got shape {z.shape}")
    hop, frames = int(model.hop), int(z.shape[1])
    period = _frame_period(model)
    overlap = max(period, int(overlap_frames))
    chunk = max(int(chunk_frames), 2 * (overlap + period))
    windows = _windows(frames, chunk, overlap, period)
    device = model_device(model)
    out = np.zeros(frames * hop, dtype=np.float32)
    with torch.inference_mode():
        for k, (first, last) in enumerate(windows):
            piece = torch.from_numpy(z[None, :, first:last]).to(device)
            wave = model.decode(piece, length=(last - first) * hop).float().cpu().numpy().reshape(-1)
            positions = first * hop + np.arange(len(wave))
            weight = np.ones(len(wave), dtype=np.float32)
            if k > 0:  # fade in over the middle half of the overlap with the previous window
                weight *= _ramp(first * hop, windows[k - 1][1] * hop, positions)
            if k + 1 < len(windows):  # fade out over the middle half of the overlap with the next one
                weight *= 1.0 - _ramp(windows[k + 1][0] * hop, last * hop, positions)
            out[first * hop:last * hop] += wave * weight
    return out


def _ramp(start: int, end: int, positions: np.ndarray) -> np.ndarray:
    """0 before the middle half of ``[start, end)``, a linear rise across it, 1 after."""
    quarter = (end - start) / 4.0
    lo, width = start + quarter, max(2.0 * quarter, 1.0)
    return np.clip((positions + 0.5 - lo) / width, 0.0, 1.0).astype(np.float32)


def decode_track(table: LatentTable | str | os.PathLike, track_id: str, model=None,
                 checkpoint: str | os.PathLike | None = None, device: str = "cpu",
                 batch_size: int = 16, seamless: bool = True, chunk_seconds: float = CHUNK_SECONDS,
                 overlap_seconds: float = OVERLAP_SECONDS) -> tuple[np.ndarray, int]:
    """Rebuild one track from its segment rows: ``(wave float32 [samples], sample_rate)``.

    Each segment's decoded audio is cropped to its real ``duration_s`` (the padded tail of the
    last one goes) and placed at its ``start_s``: the result is as long as the part of the track
    that was encoded. ``seamless`` (the default) decodes the concatenated segment latents as one
    sequence (``decode_frames``); ``seamless=False`` decodes every segment on its own, which
    leaves a discontinuity at each boundary (kept for comparison and for models that need it).
    """
    table = _table(table)
    model = model if model is not None else load_table_model(table, checkpoint, device)
    meta = table.metadata
    sr, seg_len = int(meta["sample_rate"]), int(meta["segment_samples"])
    rows = table.segments(filters=[("track_id", "=", track_id)]).sort_values("segment")
    if rows.empty:
        raise LatentTableError(f"{table.path}: no track {track_id!r} in the table; see `musiclatent latents info`")
    latents = table.track_latents(track_id)
    if seamless and frame_aligned(model, seg_len, table.latent_shape):
        hop, per = int(model.hop), int(latents.shape[-1])
        sequence = np.concatenate(list(latents), axis=-1)  # [C, S * T']
        flat = decode_frames(sequence, model, chunk_frames=max(1, int(np.ceil(chunk_seconds * sr / hop))),
                             overlap_frames=int(np.ceil(overlap_seconds * sr / hop)))
        decoded = [flat[i * per * hop: i * per * hop + seg_len] for i in range(len(latents))]
    else:
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


__all__ = ["decode_frames", "decode_latent", "decode_to_file", "decode_track", "frame_aligned", "load_latent_file",
           "load_table_model", "model_device"]
