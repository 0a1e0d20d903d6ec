"""Encode a corpus into a latent table: read tracks in DataLoader workers, batched inference,
streaming Parquet writes, resumable.

Tracks are read (from the decoded-audio cache when it holds them, else decoded) and cut into
segments by a per-track ``Dataset`` served by a ``DataLoader`` (``workers`` processes decode while
the model runs). Segments of consecutive tracks are packed into batches of ``batch_size``; once
a track's segments are all encoded its rows go to the ``LatentTableWriter``, which flushes whole
tracks into part files of a hidden partial folder. An interrupted encode (crash, Ctrl-C, kill)
resumes from there: tracks already flushed are skipped, and the final table has the same rows
in the same order as an uninterrupted run. Unreadable files are skipped, printed and listed in
the table's ``problems``.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musiclatent.latents.table import LatentTableError, LatentTableWriter

try:
    from torch.utils.data import Dataset as _Base
except ImportError:  # pragma: no cover
    _Base = object  # type: ignore[misc,assignment]

DEFAULT_BATCH_SIZE = 16
FLUSH_SECONDS = 30.0  # flush finished tracks at least this often, so a kill loses little work


@dataclass
class TrackItem:
    """One track read and cut: its manifest fields, ``segments [S, L]`` and their rows, or an error."""

    index: int
    track_id: str
    path: str
    label: str | None
    split: str
    segments: np.ndarray | None
    rows: list[dict[str, Any]]
    error: str | None = None


class TrackDataset(_Base):
    """Per-track items (``TrackItem``) of ``tracks`` (manifest rows), read at ``sample_rate``."""

    def __init__(self, tracks: list[dict[str, Any]], root: str | os.PathLike, sample_rate: int,
                 segment_seconds: float, cache=None):
        self.tracks = tracks
        self.root = Path(root)
        self.sample_rate = int(sample_rate)
        self.segment_seconds = float(segment_seconds)
        self.cache = cache

    def __len__(self) -> int:
        return len(self.tracks)

    def _wave(self, row: dict[str, Any]) -> np.ndarray:
        from musiclatent.corpus.audio import read_audio

        if self.cache is not None and self.cache.is_fresh(row["track_id"], row["path"]):
            return np.asarray(self.cache.get(row["track_id"]), dtype=np.float32)
        from musiclatent.fileio import corpus_file

        return read_audio(corpus_file(self.root, row["path"]), self.sample_rate)

    def __getitem__(self, index: int) -> TrackItem:
        from musiclatent.corpus.errors import AudioReadError
        from musiclatent.corpus.segments import cut_segments
        from musiclatent.fileio import UnsafePathError

        row = self.tracks[index]
        import pandas as pd

        label = row.get("label")
        label = None if label is None or bool(pd.isna(label)) else str(label)
        item = TrackItem(index, str(row["track_id"]), str(row["path"]), label, str(row.get("split") or ""),
                         None, [])
        try:
            wave = self._wave(row)
            segments, rows = cut_segments(wave, self.sample_rate, self.segment_seconds)
        except AudioReadError as exc:
            item.error = exc.reason
            return item
        except UnsafePathError as exc:  # a shared manifest naming a file outside its corpus
            item.error = str(exc)
            return item
        except (OSError, ValueError, RuntimeError) as exc:  # any other unusable file: skip, never abort
            item.error = f"{type(exc).__name__}: {exc}"
            return item
        if not len(segments):
            item.error = "no audio (zero samples)"
            return item
        item.segments, item.rows = segments, rows
        return item


def _identity(item):
    return item


def _track_written(track_id: str) -> None:
    """Called after each track is handed to the writer (tests patch this to simulate a kill)."""


def _manifest_of(manifest):
    if isinstance(manifest, (str, os.PathLike)):
        from musiclatent.corpus.manifest import Manifest

        return Manifest.load(manifest)
    return manifest


def file_stamps(root: str | os.PathLike, tracks) -> dict[str, str]:
    """track id -> ``"size:mtime_ns"`` of its file now (``"missing"`` when it cannot be stat'ed):
    the resume identity of each track, so a file changed since an interrupted run is re-encoded."""
    from musiclatent.fileio import UnsafePathError, corpus_file

    stamps = {}
    for tid, rel in zip(tracks["track_id"].astype(str), tracks["path"].astype(str), strict=True):
        try:
            st = os.stat(corpus_file(root, rel))
            stamps[tid] = f"{st.st_size}:{st.st_mtime_ns}"
        except (OSError, UnsafePathError):
            stamps[tid] = "missing"
    return stamps


def checkpoint_segment_seconds(meta: dict[str, Any]) -> float | None:
    """The segment length a checkpoint was trained on, when its metadata says."""
    for source in (meta, meta.get("training") or {}):
        if source.get("segment_seconds"):
            return float(source["segment_seconds"])
    return None


def encode_corpus(
    *,
    checkpoint: str | os.PathLike,
    manifest,
    out: str | os.PathLike,
    batch_size: int = DEFAULT_BATCH_SIZE,
    segment_seconds: float | None = None,
    device: str = "auto",
    workers: int = 0,
    resume: bool = True,
    progress: bool = True,
    cache=None,
    row_group_rows: int = 2048,
    log=None,
) -> Path:
    """Encode every track of ``manifest`` (all splits) with ``checkpoint`` into the table ``out``.

    ``manifest``: a ``musiclatent.corpus.manifest.Manifest`` or the path of a saved one.
    ``segment_seconds`` defaults to the length the checkpoint was trained on (else 5 s).
    ``cache``: an optional ``AudioCache`` read instead of decoding where it is fresh.
    ``log(message)`` receives one line per skipped file (default: stderr). Returns ``out``.

    One encode at a time writes a table: a second one on the same ``out`` raises ``BusyError``
    naming the first one's pid (an exclusive lock on ``.<name>.lock``; a killed run holds none).
    """
    from musiclatent.fileio import exclusive

    out = Path(out).expanduser()
    with exclusive(out, "another `musiclatent encode`"):
        return _encode_locked(checkpoint=checkpoint, manifest=manifest, out=out, batch_size=batch_size,
                              segment_seconds=segment_seconds, device=device, workers=workers, resume=resume,
                              progress=progress, cache=cache, row_group_rows=row_group_rows, log=log)


def _encode_locked(*, checkpoint, manifest, out: Path, batch_size, segment_seconds, device, workers, resume,
                   progress, cache, row_group_rows, log) -> Path:
    import torch
    from tqdm.auto import tqdm

    from musiclatent.checkpoint import load_checkpoint
    from musiclatent.corpus.segments import DEFAULT_SEGMENT_SECONDS
    from musiclatent.fileio import sha256_file
    from musiclatent.latents.metadata import table_metadata
    from musiclatent.model import select_device

    log = log or (lambda msg: tqdm.write(msg, file=sys.stderr))
    checkpoint = Path(checkpoint).expanduser().resolve()
    if batch_size < 1:
        raise LatentTableError(f"{out}: --batch-size must be at least 1, got {batch_size}")
    manifest = _manifest_of(manifest)
    dev = select_device(device)
    sha = sha256_file(checkpoint)
    model, ck_meta = load_checkpoint(checkpoint, expected_sha256=sha, device=dev)
    seconds = float(segment_seconds or checkpoint_segment_seconds(ck_meta) or DEFAULT_SEGMENT_SECONDS)
    metadata = table_metadata(model, ck_meta, checkpoint, sha, seconds, manifest.root)
    sample_rate, latent_shape = metadata["sample_rate"], metadata["latent_shape"]
    tracks_df = manifest.tracks.reset_index(drop=True)
    stamps = file_stamps(manifest.root, tracks_df)
    writer = LatentTableWriter(out, metadata, row_group_rows=row_group_rows, resume=resume, stamps=stamps)
    ids = set(tracks_df["track_id"].astype(str))
    stale = (writer.done_tracks | writer.changed_tracks) - ids
    if stale:  # the corpus changed since the interrupted run: its parts cannot be reused
        log(f"{out.name}: the interrupted encode holds {len(stale)} tracks no longer in the corpus; starting over")
        writer = LatentTableWriter(out, metadata, row_group_rows=row_group_rows, resume=False, stamps=stamps)
    elif writer.changed_tracks:
        again = f" (and {len(writer.dropped_tracks)} tracks flushed after them)" if writer.dropped_tracks else ""
        log(f"resuming {out.name}: re-encoding {len(writer.changed_tracks)} changed files{again}")
    for p in manifest.problems.to_dict("records"):
        writer.add_problem(p["path"], f"skipped when the corpus was scanned: {p['reason']}")
    todo = [r for r in tracks_df.to_dict("records") if str(r["track_id"]) not in writer.done_tracks]
    if writer.resumed:
        log(f"resuming {out.name}: {len(writer.done_tracks)} tracks already encoded, {len(todo)} to go")
    dataset = TrackDataset(todo, manifest.root, sample_rate, seconds, cache=cache)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, shuffle=False, num_workers=int(workers),
                                         collate_fn=_identity, persistent_workers=False)
    started, audio_s, last_flush = time.perf_counter(), 0.0, time.perf_counter()  # this run's, for speed
    bar = tqdm(total=len(todo), desc=f"encode {metadata['model']}", unit="track",
               disable=None if progress else True, file=sys.stderr)
    pending: list[TrackItem] = []

    def run_pending() -> None:
        nonlocal audio_s, last_flush
        if not pending:
            return
        segments = np.concatenate([t.segments for t in pending])
        latents = np.empty((len(segments), *latent_shape), dtype=np.float32)
        with torch.inference_mode():
            for i in range(0, len(segments), batch_size):
                x = torch.from_numpy(segments[i:i + batch_size]).unsqueeze(1).to(dev)
                z = model.encode(x)
                if tuple(z.shape[1:]) != tuple(latent_shape):
                    raise LatentTableError(
                        f"{checkpoint}: model gave latents {tuple(z.shape[1:])}, expected {tuple(latent_shape)}")
                latents[i:i + len(x)] = z.float().cpu().numpy()
        offset = 0
        for t in pending:
            n = len(t.segments)
            if not np.isfinite(latents[offset:offset + n]).all():  # e.g. audio far louder than full scale
                peak = float(np.abs(t.segments).max())
                reason = f"the model gave NaN/infinite latents (audio peak {peak:.3g}); normalise the file"
                writer.add_problem(t.path, reason)
                log(f"skipped {t.path}: {reason}")
                offset += n
                bar.update(1)
                continue
            rows = {"track_id": [t.track_id] * n, "path": [t.path] * n, "label": [t.label] * n,
                    "split": [t.split] * n, "segment": [r["segment"] for r in t.rows],
                    "start_s": [r["start_s"] for r in t.rows], "duration_s": [r["duration_s"] for r in t.rows]}
            writer.write(rows, latents[offset:offset + n])
            offset += n
            audio_s += sum(r["duration_s"] for r in t.rows)
            _track_written(t.track_id)
            bar.update(1)
        pending.clear()
        bar.set_postfix_str(f"{audio_s / max(time.perf_counter() - started, 1e-9):.1f}x real time")
        if time.perf_counter() - last_flush > FLUSH_SECONDS:
            writer.flush()
            last_flush = time.perf_counter()

    try:
        for item in loader:
            if item.error is not None:
                writer.add_problem(item.path, item.error)
                bar.update(1)
                log(f"skipped {item.path}: {item.error}")
                continue
            pending.append(item)
            if sum(len(t.segments) for t in pending) >= batch_size:
                run_pending()
        run_pending()
    except BaseException:
        bar.close()
        writer.abort()
        raise
    bar.close()
    return writer.close()  # audio_s and elapsed_s: summed over every run that wrote the table


__all__ = ["TrackDataset", "TrackItem", "checkpoint_segment_seconds", "encode_corpus", "file_stamps"]
