"""The encoding core: what every engine, ``evaluate`` and ``decode`` share, in one place.

- ``TrackDataset``/``TrackItem``: a manifest row read (from the decoded-audio cache when it is
  fresh, else decoded) and cut into segments, or the reason it could not be;
- ``batched``: the one batched model-inference loop (numpy in, numpy out, ``inference_mode``);
  ``encode_segments`` is it with ``model.encode`` and the latent-shape check;
- ``load_encoder``: the checkpoint loaded and sha256-checked, the segment length and the table
  metadata (``latents.metadata.table_metadata``) every engine writes;
- ``open_writer``/``tracks_to_encode``: the ``LatentTableWriter`` with the resume rules (start
  over when tracks left the corpus, re-encode changed files) and the manifest's problems;
- ``Progress``: the progress bar and the speed in multiples of real time.

The local engine (``latents.encode``) and the Ray engine (``latents.ray_engine``) are thin
drivers over these; ``latents.evaluate`` and ``latents.decode`` use ``TrackDataset`` and
``batched``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musiclatent.latents.errors import LatentTableError

try:
    from torch.utils.data import Dataset as _Base
except ImportError:  # pragma: no cover
    _Base = object  # type: ignore[misc,assignment]

ROW_COLUMNS = ("track_id", "path", "label", "split", "segment", "start_s", "duration_s")
Log = Callable[[str], None]


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

    def columns(self) -> dict[str, list]:
        """The table's row columns (``ROW_COLUMNS``) of this track's segments."""
        n = len(self.rows)
        return {"track_id": [self.track_id] * n, "path": [self.path] * n, "label": [self.label] * n,
                "split": [self.split] * n, "segment": [r["segment"] for r in self.rows],
                "start_s": [r["start_s"] for r in self.rows], "duration_s": [r["duration_s"] for r in self.rows]}


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
        from musiclatent.corpus.paths import corpus_file

        return read_audio(corpus_file(self.root, row["path"]), self.sample_rate)

    def __getitem__(self, index: int) -> TrackItem:
        import pandas as pd

        from musiclatent.corpus.errors import AudioReadError
        from musiclatent.corpus.segments import cut_segments
        from musiclatent.fileio import UnsafePathError

        row = self.tracks[index]
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


def identity(item):
    """The DataLoader's ``collate_fn``: items pass as they are (a module function, so workers can pickle it)."""
    return item


def batched(fn: Callable, inputs: np.ndarray, batch_size: int, device) -> np.ndarray:
    """``fn`` (a model call on a tensor batch on ``device``) over ``inputs`` in batches of
    ``batch_size``, without autograd; the results as one float32 array, in order."""
    import torch

    pieces = []
    with torch.inference_mode():
        for i in range(0, len(inputs), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(inputs[i:i + batch_size])).to(device)
            pieces.append(fn(x).float().cpu().numpy())
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)


def encode_segments(model, segments: np.ndarray, batch_size: int, device,
                    latent_shape=None, where: object = "the model") -> np.ndarray:
    """``segments [S, L]`` -> latents ``[S, C, T']`` float32; with ``latent_shape``, a model that
    gives another shape is refused (``LatentTableError`` naming ``where``)."""
    def encode(x):
        z = model.encode(x.unsqueeze(1))
        if latent_shape is not None and tuple(z.shape[1:]) != tuple(latent_shape):
            raise LatentTableError(f"{where}: model gave latents {tuple(z.shape[1:])}, expected {tuple(latent_shape)}")
        return z

    return batched(encode, segments, batch_size, device)


def manifest_of(manifest):
    """A ``Manifest``, given one or the path of a saved one."""
    if isinstance(manifest, (str, os.PathLike)):
        from musiclatent.corpus.manifest import Manifest

        return Manifest.load(manifest)
    return manifest


def file_stamps(root: str | os.PathLike, tracks) -> dict[str, str]:
    """track id -> ``"size:mtime_ns"`` of its file now (``"missing"`` when it cannot be stat'ed):
    the resume identity of each track, so a file changed since an interrupted run is re-encoded."""
    from musiclatent.corpus.paths import corpus_file
    from musiclatent.fileio import UnsafePathError

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


def stderr_log(message: str) -> None:
    """The engines' default ``log``: one line on stderr that keeps the progress bar intact."""
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)


def require_positive(out: Path, options: Mapping[str, int]) -> None:
    """Refuse an option (``{"--batch-size": 0}``) under 1, naming the table."""
    for name, value in options.items():
        if value < 1:
            raise LatentTableError(f"{out}: {name} must be at least 1, got {value}")


@dataclass(frozen=True)
class Encoder:
    """A checkpoint loaded for encoding: the model, its file and sha256, the segment length and
    the table metadata it makes."""

    model: Any
    checkpoint: Path
    sha256: str
    segment_seconds: float
    metadata: dict[str, Any]


def load_encoder(checkpoint: Path, segment_seconds: float | None, corpus_root, device) -> Encoder:
    """Load ``checkpoint`` (sha256-checked) on ``device``; ``segment_seconds`` defaults to the
    length it was trained on, else ``DEFAULT_SEGMENT_SECONDS``."""
    from musiclatent.checkpoint import load_checkpoint
    from musiclatent.corpus.segments import DEFAULT_SEGMENT_SECONDS
    from musiclatent.fileio import sha256_file
    from musiclatent.latents.metadata import table_metadata

    sha = sha256_file(checkpoint)
    model, ck_meta = load_checkpoint(checkpoint, expected_sha256=sha, device=device)
    seconds = float(segment_seconds or checkpoint_segment_seconds(ck_meta) or DEFAULT_SEGMENT_SECONDS)
    return Encoder(model, checkpoint, sha, seconds, table_metadata(model, ck_meta, checkpoint, sha, seconds, corpus_root))


def open_writer(out: Path, metadata: dict[str, Any], manifest, tracks, *, resume: bool, row_group_rows: int,
                log: Log, stamps: dict[str, str] | None = None):
    """The ``LatentTableWriter`` of ``out``, resuming an interrupted encode where it can.

    Its parts are dropped when they hold tracks no longer in ``tracks`` (the manifest's rows);
    with ``stamps`` (``file_stamps``) a file changed since is encoded again. The manifest's
    problems are listed in the table.
    """
    from musiclatent.latents.writer import LatentTableWriter

    writer = LatentTableWriter(out, metadata, row_group_rows=row_group_rows, resume=resume, stamps=stamps)
    stale = (writer.done_tracks | writer.changed_tracks) - set(tracks["track_id"].astype(str))
    if stale:  # the corpus changed since the interrupted run: its parts cannot be reused
        log(f"{out.name}: the interrupted encode holds {len(stale)} tracks no longer in the corpus; starting over")
        writer = LatentTableWriter(out, metadata, row_group_rows=row_group_rows, resume=False, stamps=stamps)
    elif writer.changed_tracks:
        again = f" (and {len(writer.dropped_tracks)} tracks flushed after them)" if writer.dropped_tracks else ""
        log(f"resuming {out.name}: re-encoding {len(writer.changed_tracks)} changed files{again}")
    for p in manifest.problems.to_dict("records"):
        writer.add_problem(p["path"], f"skipped when the corpus was scanned: {p['reason']}")
    return writer


def tracks_to_encode(tracks, writer, log: Log):
    """The manifest rows (``order``: manifest position, ``track_id``, ``path``, ``label``,
    ``split``) the writer does not hold yet; says so when resuming."""
    todo = tracks.assign(order=np.arange(len(tracks)))[["order", "track_id", "path", "label", "split"]]
    todo = todo[~todo["track_id"].astype(str).isin(writer.done_tracks)].reset_index(drop=True)
    if writer.resumed:
        log(f"resuming {writer.path.name}: {len(writer.done_tracks)} tracks already encoded, {len(todo)} to go")
    return todo


class Progress:
    """The progress bar of an encode (disabled with ``show=False``) and this run's speed."""

    def __init__(self, total: int, desc: str, show: bool):
        from tqdm.auto import tqdm

        self.started, self.audio_s = time.perf_counter(), 0.0
        self.bar = tqdm(total=total, desc=desc, unit="track", disable=None if show else True, file=sys.stderr)

    def track_done(self, audio_s: float = 0.0) -> None:
        self.audio_s += audio_s
        self.bar.update(1)

    def show_speed(self) -> None:
        self.bar.set_postfix_str(f"{self.audio_s / max(time.perf_counter() - self.started, 1e-9):.1f}x real time")

    def close(self) -> None:
        self.bar.close()


__all__ = ["ROW_COLUMNS", "Encoder", "Progress", "TrackDataset", "TrackItem", "batched", "checkpoint_segment_seconds",
           "encode_segments", "file_stamps", "identity", "load_encoder", "manifest_of", "open_writer",
           "require_positive", "stderr_log", "tracks_to_encode"]
