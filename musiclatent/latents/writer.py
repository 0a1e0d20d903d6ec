"""Writing a latent table: ``LatentTableWriter`` (streaming, resumable) and ``write_folder_metadata``.

``LatentTableWriter`` writes completed tracks into part files of a hidden ``.<name>.partial``
folder as it goes (each part renamed into place whole, so a killed process loses at most the
tracks not yet flushed); ``close()`` copies the parts row group by row group into one file and
renames it onto the final path. An interrupted encode resumes from the partial folder. Parallel
writers (the Ray engine) write a folder of ``part-*.parquet`` files and mark it complete with
``write_folder_metadata``, last. The format is :mod:`musiclatent.latents.schema`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from musiclatent.latents.errors import LatentTableError
from musiclatent.latents.schema import (
    FOLDER_METADATA,
    META_COLUMNS,
    base_metadata,
    latent_dim_of,
    partial_path,
    read_file_metadata,
    table_schema,
)


def _latents_to_array(latents: np.ndarray, dim: int) -> pa.FixedSizeListArray:
    flat = np.ascontiguousarray(np.asarray(latents, dtype=np.float32).reshape(len(latents), -1))
    if flat.shape[1] != dim:
        raise LatentTableError(f"latent of {flat.shape[1]} values does not fit the table's {dim} (C*T')")
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1), type=pa.float32()), dim)




class LatentTableWriter:
    """Stream segment rows into a latent table; memory stays bounded by ``row_group_rows``.

    Call ``write(rows, latents)`` with the segment rows of whole tracks; buffered rows are flushed
    into a part file (one row group) once ``row_group_rows`` are buffered. ``add_problem`` records
    a skipped file. ``close()`` writes the final file atomically (``complete: true``) and removes
    the partial folder. With ``resume=True`` parts left by an interrupted writer with the same
    model, checkpoint and segmenting are kept and their tracks are in ``done_tracks``.
    ``stamps`` (track id -> a file stamp such as ``"size:mtime_ns"``) are stored with each part;
    on resume, a track whose stamp changed is in ``changed_tracks`` and the parts from the first
    one holding it are dropped (re-encoded, keeping the row order of an uninterrupted run).
    ``audio_s`` and ``elapsed_s`` in the final metadata count every run that wrote the table.
    Used as a context manager, an exception flushes the whole tracks buffered so far and leaves the
    partial folder for a later resume.
    """

    _IDENTITY = ("format_version", "model", "checkpoint_sha256", "sample_rate", "segment_samples", "latent_shape")

    def __init__(
        self,
        path: str | os.PathLike,
        metadata: Mapping[str, Any],
        row_group_rows: int = 2048,
        resume: bool = True,
        stamps: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.stamps = dict(stamps) if stamps is not None else None
        self.changed_tracks: set[str] = set()
        self.dropped_tracks: set[str] = set()
        self.audio_s = 0.0
        self._elapsed_before = 0.0
        self._started = time.perf_counter()
        self.metadata = base_metadata(**dict(metadata))
        missing = [k for k in ("model", "latent_shape", "sample_rate", "segment_samples") if k not in self.metadata]
        if missing:
            raise LatentTableError(f"{self.path}: table metadata lacks {', '.join(missing)}")
        self.dim = latent_dim_of(self.metadata)
        self.row_group_rows = max(1, int(row_group_rows))
        self.partial = partial_path(self.path)
        self.schema = table_schema(self.dim, latent_shape=self.metadata["latent_shape"])
        self.problems: list[dict[str, str]] = []
        self.done_tracks: set[str] = set()
        self.rows_written = 0
        self._buffer: list[tuple[dict[str, list], np.ndarray]] = []
        self._buffered = 0
        self._parts: list[Path] = []
        self._closed = False
        from musiclatent.fileio import naming

        with naming(self.path, self.partial):
            self._open_partial(resume)

    # -- partial folder
    def _open_partial(self, resume: bool) -> None:
        from musiclatent.locks import remove_stale

        remove_stale(self.path.parent, f".{self.path.name}.tmp")  # left by a kill while closing
        if self.partial.exists():
            remove_stale(self.partial, ".part-*.tmp")
        if self.partial.exists() and resume:
            parts = sorted(self.partial.glob("part-*.parquet"))
            try:
                metas = [read_file_metadata(p) for p in parts]
            except LatentTableError:
                metas = None
            same = metas is not None and all(
                all(m.get(k) == json.loads(json.dumps(self.metadata.get(k))) for k in self._IDENTITY)
                for m in metas
            )
            if same:
                self._keep_parts(parts, metas)
                return
        if self.partial.exists():
            shutil.rmtree(self.partial)
        self.partial.mkdir(parents=True)

    def _keep_parts(self, parts: list[Path], metas: list[dict[str, Any]]) -> None:
        """Resume from ``parts``, up to the first holding a track whose file changed since."""
        for n, (part, meta) in enumerate(zip(parts, metas, strict=True)):
            cols = pq.read_table(part, columns=["track_id", "duration_s"])
            ids = cols.column("track_id").to_pylist()
            if self.stamps is not None:
                stored = meta.get("track_stamps") or {}
                if any(stored.get(t) != self.stamps.get(t) for t in ids):
                    for later, later_meta in zip(parts[n:], metas[n:], strict=True):
                        stored = later_meta.get("track_stamps") or {}
                        for t in pq.read_table(later, columns=["track_id"]).column(0).to_pylist():
                            changed = stored.get(t) != self.stamps.get(t)
                            (self.changed_tracks if changed else self.dropped_tracks).add(t)
                        later.unlink()
                    return
            self.done_tracks.update(ids)
            self.rows_written += len(ids)
            self.audio_s += float(np.sum(cols.column("duration_s").to_numpy(), dtype=np.float64))
            self._elapsed_before = max(self._elapsed_before, float(meta.get("elapsed_s") or 0.0))
            self._parts.append(part)

    @property
    def elapsed_s(self) -> float:
        """Seconds spent writing this table, over every run that resumed it."""
        return self._elapsed_before + time.perf_counter() - self._started

    @property
    def resumed(self) -> bool:
        """True when tracks from an interrupted run were kept."""
        return bool(self.done_tracks)

    # -- rows
    def write(self, rows: Mapping[str, Sequence], latents: np.ndarray) -> None:
        """Buffer segment rows (columns ``META_COLUMNS``) with their ``latents[N, ...]``.

        Pass whole tracks: a flush happens only between calls.
        """
        if self._closed:
            raise LatentTableError(f"{self.path}: writer already closed")
        n = len(latents)
        cols = {k: list(rows[k]) for k in META_COLUMNS}
        if any(len(v) != n for v in cols.values()):
            raise LatentTableError(f"{self.path}: {n} latents but columns of other lengths")
        flat = np.asarray(latents, dtype=np.float32).reshape(n, -1)
        if flat.shape[1] != self.dim:
            raise LatentTableError(
                f"{self.path}: latent of {flat.shape[1]} values does not fit the table's {self.dim} (C*T')"
            )
        self._buffer.append((cols, flat))
        self._buffered += n
        if self._buffered >= self.row_group_rows:
            self.flush()

    def add_problem(self, path: str, reason: str) -> None:
        """Record a file that was skipped (listed in the table metadata ``problems``)."""
        self.problems.append({"path": str(path), "reason": str(reason)})

    def _buffer_table(self) -> pa.Table:
        cols = {k: [v for c, _ in self._buffer for v in c[k]] for k in META_COLUMNS}
        latents = np.concatenate([lat for _, lat in self._buffer]) if self._buffer else np.zeros((0, self.dim), np.float32)
        arrays = [pa.array(cols[f.name], type=f.type) for f in self.schema if f.name != "latent"]
        arrays.append(_latents_to_array(latents, self.dim))
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def flush(self) -> None:
        """Write the buffered tracks as one part file (a no-op when nothing is buffered)."""
        if not self._buffered:
            return
        table = self._buffer_table()
        meta = {**self.metadata, "complete": False, "elapsed_s": round(self.elapsed_s, 3)}
        if self.stamps is not None:
            meta["track_stamps"] = {t: self.stamps.get(t) for t in dict.fromkeys(table.column("track_id").to_pylist())}
        table = table.replace_schema_metadata(table_schema(self.dim, meta).metadata)
        part = self.partial / f"part-{len(self._parts):06d}.parquet"
        tmp = part.with_name(f".{part.name}.tmp")
        from musiclatent.fileio import naming

        with naming(self.path, tmp, part, self.partial):
            pq.write_table(table, tmp, row_group_size=max(len(table), 1), write_page_checksum=True)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, part)
        self._parts.append(part)
        self.done_tracks.update(table.column("track_id").to_pylist())
        self.rows_written += len(table)
        self.audio_s += float(np.sum(table.column("duration_s").to_numpy(), dtype=np.float64))
        self._buffer.clear()
        self._buffered = 0

    def close(self, **metadata_updates: Any) -> Path:
        """Flush, write the final table (``complete: true``) atomically, remove the partial folder."""
        if self._closed:
            return self.path
        self.flush()
        totals = {"audio_s": round(self.audio_s, 3), "elapsed_s": round(self.elapsed_s, 3)}
        meta = {**self.metadata, **totals, **metadata_updates, "problems": self.problems, "complete": True}
        meta["num_rows"] = self.rows_written
        schema = table_schema(self.dim, meta)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        from musiclatent.fileio import naming

        try:
            with naming(self.path, tmp, self.path.parent):
                self._write_final(tmp, schema)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        shutil.rmtree(self.partial, ignore_errors=True)
        self._closed = True
        self.metadata = meta
        return self.path

    def _write_final(self, tmp: Path, schema: pa.Schema) -> None:
        """Copy the parts row group by row group into ``tmp``, fsync, rename onto the final path."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(tmp, schema, write_page_checksum=True) as writer:
            for part in self._parts:
                pf = pq.ParquetFile(part, page_checksum_verification=True)
                for i in range(pf.num_row_groups):
                    writer.write_table(pf.read_row_group(i).replace_schema_metadata(None))
                pf.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def abort(self) -> None:
        """Flush whole buffered tracks and leave the partial folder for a later resume."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):  # e.g. the disk is full: keep the original error
                self.flush()

    def __enter__(self) -> LatentTableWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_folder_metadata(folder: str | os.PathLike, metadata: Mapping[str, Any]) -> Path:
    """Mark a folder of ``part-*.parquet`` files as a complete table (for parallel writers).

    Write this last: a folder without it (and whose parts do not say ``complete``) is refused.
    """
    from musiclatent.fileio import atomic_write_json

    path = Path(folder) / FOLDER_METADATA
    atomic_write_json(path, base_metadata(**{**dict(metadata), "complete": True}))
    return path
