"""The Parquet latent table: one row per encoded segment, written streaming, read lazily.

Columns: ``track_id``, ``path``, ``label`` (nullable), ``split``, ``segment`` (int32), ``start_s``,
``duration_s`` (float32, the real, unpadded length of the segment) and ``latent``
(``fixed_size_list<float32>[C*T']``, the flattened ``[C, T']`` latent, channel-major). The
``latent`` field carries its shape as field metadata (``shape`` ``[C, T']``, ``channels``,
``frames``, ``layout``), and the file a plain ``musiclatent.latent_shape`` key, so tools that
never parse the JSON document still find it. File-level key-value metadata: one JSON document
under the key ``musiclatent`` (see ``REQUIRED_METADATA``).

Parquet itself has no fixed-size list type: pyarrow and polars restore ``fixed_size_list`` /
``Array`` from the stored Arrow schema, DuckDB reads a ``FLOAT[]`` list (cast it with
``latent::FLOAT[C*T']``, see docs/explore.md). Tables whose ``latent`` is a variable-length
``list<float32>`` (written by a tool that dropped the Arrow schema) are read too, each row
checked to hold ``C*T'`` values.

A table is one ``.parquet`` file, or a folder of ``part-*.parquet`` files (written in parallel,
e.g. by a Ray engine) whose metadata is in ``musiclatent.json`` in the folder (written last, see
``write_folder_metadata``) or else in the parts themselves. Both open with ``LatentTable.open``.

``LatentTableWriter`` writes completed tracks into part files of a hidden ``.<name>.partial``
folder as it goes (each part renamed into place whole, so a killed process loses at most the
tracks not yet flushed); ``close()`` copies the parts row group by row group into one file and
renames it onto the final path. An interrupted encode resumes from the partial folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from musiclatent import FORMAT_VERSION, __version__
from musiclatent.latents.errors import LatentTableError
from musiclatent.latents.pooling import (
    DEFAULT_POOLING,
    check_pooling,
    finish_pooling,
    pooled_size,
    segment_features,
)

TABLE_FORMAT = "musiclatent-latents"
METADATA_KEY = b"musiclatent"
METADATA_SHA_KEY = b"musiclatent.sha256"  # sha256 of the metadata JSON: a damaged footer is refused
SHAPE_KEY = b"musiclatent.latent_shape"  # plain "[C, T']" for tools that read key-value metadata only
LATENT_LAYOUT = "row-major [C, T']: value c*T'+t is channel c, frame t"
FOLDER_METADATA = "musiclatent.json"
META_COLUMNS = ("track_id", "path", "label", "split", "segment", "start_s", "duration_s")
REQUIRED_METADATA = ("format", "format_version", "model", "sample_rate", "segment_samples", "latent_shape")


def latent_field(latent_dim: int, latent_shape: Sequence[int] | None = None) -> pa.Field:
    """The ``latent`` field: ``fixed_size_list<float32>[latent_dim]``, its ``[C, T']`` shape as field metadata."""
    meta = None
    if latent_shape is not None:
        c, t = (int(v) for v in latent_shape)
        if c * t != int(latent_dim):
            raise LatentTableError(f"latent_shape {[c, t]} does not hold {latent_dim} values (C*T')")
        meta = {b"shape": json.dumps([c, t]).encode(), b"channels": str(c).encode(),
                b"frames": str(t).encode(), b"layout": LATENT_LAYOUT.encode()}
    return pa.field("latent", pa.list_(pa.float32(), int(latent_dim)), nullable=False, metadata=meta)


def table_schema(latent_dim: int, metadata: Mapping[str, Any] | None = None,
                 latent_shape: Sequence[int] | None = None) -> pa.Schema:
    """The Arrow schema of a latent table whose latents have ``latent_dim`` values.

    ``latent_shape`` (else ``metadata["latent_shape"]``) goes into the ``latent`` field's metadata.
    """
    shape = latent_shape if latent_shape is not None else (metadata or {}).get("latent_shape")
    if latent_shape is None and not _shape_fits(shape, latent_dim):
        shape = None  # metadata that does not describe these latents: validate() refuses it on reading
    fields = [
        pa.field("track_id", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=True),
        pa.field("split", pa.string(), nullable=False),
        pa.field("segment", pa.int32(), nullable=False),
        pa.field("start_s", pa.float32(), nullable=False),
        pa.field("duration_s", pa.float32(), nullable=False),
        latent_field(latent_dim, shape),
    ]
    meta = None
    if metadata is not None:
        raw = json.dumps(dict(metadata), default=str, sort_keys=True).encode()
        meta = {METADATA_KEY: raw, METADATA_SHA_KEY: hashlib.sha256(raw).hexdigest().encode()}
        if shape is not None:
            meta[SHAPE_KEY] = json.dumps([int(v) for v in shape]).encode()
    return pa.schema(fields, metadata=meta)


def _shape_fits(shape: Any, latent_dim: int) -> bool:
    try:
        c, t = (int(v) for v in shape)
    except (TypeError, ValueError):
        return False
    return c > 0 and t > 0 and c * t == int(latent_dim)


def base_metadata(**values: Any) -> dict[str, Any]:
    """Table metadata with the format fields filled in; ``values`` add or override the rest."""
    return {
        "format": TABLE_FORMAT,
        "format_version": FORMAT_VERSION,
        "musiclatent_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "problems": [],
        "complete": False,
        **values,
    }


def latent_dim_of(metadata: Mapping[str, Any]) -> int:
    c, t = metadata["latent_shape"]
    return int(c) * int(t)


def _latents_to_array(latents: np.ndarray, dim: int) -> pa.FixedSizeListArray:
    flat = np.ascontiguousarray(np.asarray(latents, dtype=np.float32).reshape(len(latents), -1))
    if flat.shape[1] != dim:
        raise LatentTableError(f"latent of {flat.shape[1]} values does not fit the table's {dim} (C*T')")
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1), type=pa.float32()), dim)


def fixed_list_to_numpy(column: pa.ChunkedArray | pa.Array, dim: int) -> np.ndarray:
    """A ``fixed_size_list<float32>`` column (or a ``list<float32>`` one whose rows all hold ``dim``
    values: a table written without its Arrow schema) as a float32 ``[N, dim]`` array."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for c in chunks:
        if len(c) and (pa.types.is_list(c.type) or pa.types.is_large_list(c.type)):
            _check_list_lengths(c, dim)
    parts = [c.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim) for c in chunks if len(c)]
    if not parts:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts).astype(np.float32, copy=False))


def _check_list_lengths(chunk: pa.Array, dim: int) -> None:
    import pyarrow.compute as pc

    lengths = pc.list_value_length(chunk)
    bad = pc.or_(pc.is_null(lengths), pc.not_equal(lengths, dim))
    if pc.any(bad).as_py():
        i = pc.index(bad, True).as_py()
        n = lengths[i].as_py()
        raise LatentTableError(
            f"latent row {i} holds {'no list' if n is None else f'{n} values'}, not the table's {dim} (C*T'); "
            "encode the corpus again")


def is_latent_type(value_type: pa.DataType) -> bool:
    """``fixed_size_list<float32>`` (written by musiclatent) or ``list<float32>`` (the same values
    after a tool dropped the Arrow schema): the ``latent`` column types a table may have."""
    return ((pa.types.is_fixed_size_list(value_type) or pa.types.is_list(value_type)
             or pa.types.is_large_list(value_type)) and pa.types.is_float32(value_type.value_type))


def partial_path(path: str | os.PathLike) -> Path:
    """Where an unfinished table for ``path`` lives: ``.<name>.partial`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial")


# ---------------------------------------------------------------------------------- writing
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
        from musiclatent.fileio import remove_stale

        remove_stale(self.path.parent, f".{self.path.name}.tmp")  # left by a kill while closing
        if self.partial.exists():
            remove_stale(self.partial, ".part-*.tmp")
        if self.partial.exists() and resume:
            parts = sorted(self.partial.glob("part-*.parquet"))
            try:
                metas = [_read_file_metadata(p) for p in parts]
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


# ---------------------------------------------------------------------------------- reading
def _read_file_metadata(path: Path) -> dict[str, Any]:
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise LatentTableError(
            f"{path}: not a readable Parquet file ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "delete it and run `musiclatent encode` again"
        ) from None
    raw = (schema.metadata or {}).get(METADATA_KEY)
    digest = (schema.metadata or {}).get(METADATA_SHA_KEY)
    if raw is not None and digest is not None and hashlib.sha256(raw).hexdigest().encode() != digest:
        raise LatentTableError(f"{path}: damaged file (its metadata fails its sha256 check); encode the corpus again")
    if raw is None:
        raise LatentTableError(
            f"{path}: no musiclatent metadata, not a latent table written by `musiclatent encode`; "
            "encode the corpus again"
        )
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise LatentTableError(f"{path}: unreadable musiclatent metadata; encode the corpus again") from None


class LatentTable:
    """A latent table opened lazily: metadata now, rows when asked (``segments``, matrices)."""

    def __init__(self, path: Path, files: list[Path], metadata: dict[str, Any], schema: pa.Schema):
        self.path = path
        self.files = files
        self.metadata = metadata
        self.schema = schema

    # -- opening
    @classmethod
    def open(cls, path: str | os.PathLike, validate: bool = True) -> LatentTable:
        """Open a table file or a folder of part files; ``validate`` checks schema and metadata."""
        path = Path(path)
        if path.is_dir():
            files = sorted(path.glob("part-*.parquet"))
            if not files:
                raise LatentTableError(f"{path}: folder holds no part-*.parquet files; not a latent table")
            folder_meta = path / FOLDER_METADATA
            if folder_meta.is_file():
                try:
                    metadata = json.loads(folder_meta.read_text())
                except (OSError, json.JSONDecodeError) as exc:
                    raise LatentTableError(f"{folder_meta}: unreadable ({exc}); encode the corpus again") from None
                try:
                    schema = pq.read_schema(files[0])
                except (pa.ArrowException, OSError) as exc:
                    raise LatentTableError(f"{files[0]}: not a readable Parquet file ({exc}); encode again") from None
            else:
                metadata = _read_file_metadata(files[0])
                schema = pq.read_schema(files[0])
        elif path.is_file():
            files = [path]
            metadata = _read_file_metadata(path)
            schema = pq.read_schema(path)
        else:
            hint = ""
            if partial_path(path).exists():
                hint = f" (an interrupted encode left {partial_path(path).name}: run `musiclatent encode` again to resume)"
            raise LatentTableError(f"{path}: no such latent table{hint}")
        table = cls(path, files, metadata, schema)
        if validate:
            table.validate(deep=False)
        return table

    # -- checks
    def validate(self, deep: bool = True) -> LatentTable:
        """Check format, version, metadata, schema and latent length; ``deep`` also reads every file.

        Raises ``LatentTableError`` with one line naming the file and what to do.
        """
        meta, where = self.metadata, self.path
        if meta.get("format") != TABLE_FORMAT:
            raise LatentTableError(f"{where}: format {meta.get('format')!r} is not a musiclatent latent table")
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            what = "newer" if isinstance(version, int) and version > FORMAT_VERSION else "another"
            raise LatentTableError(
                f"{where}: latent table format version {version} is {what} than this musiclatent reads "
                f"({FORMAT_VERSION}); re-encode with `musiclatent encode` or use a matching musiclatent"
            )
        missing = [k for k in REQUIRED_METADATA if k not in meta]
        if missing:
            raise LatentTableError(f"{where}: metadata lacks {', '.join(missing)}; encode the corpus again")
        if not meta.get("complete", False):
            raise LatentTableError(
                f"{where}: incomplete table (an interrupted encode); run `musiclatent encode` again to resume"
            )
        shape = meta["latent_shape"]
        if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(v, int) and v > 0 for v in shape)):
            raise LatentTableError(f"{where}: bad latent_shape {shape!r} in metadata; encode the corpus again")
        names = set(self.schema.names)
        lacking = [c for c in (*META_COLUMNS, "latent") if c not in names]
        if lacking:
            raise LatentTableError(f"{where}: columns {', '.join(lacking)} missing; encode the corpus again")
        latent_type = self.schema.field("latent").type
        if not is_latent_type(latent_type):
            raise LatentTableError(f"{where}: latent column is {latent_type}, not fixed_size_list<float32>")
        if pa.types.is_fixed_size_list(latent_type) and latent_type.list_size != self.latent_dim:
            raise LatentTableError(
                f"{where}: latents have {latent_type.list_size} values but latent_shape {shape} says "
                f"{self.latent_dim}; encode the corpus again"
            )
        self._check_null_statistics()
        if deep:
            keys = []
            for f in self.files:
                try:
                    pf = pq.ParquetFile(f, page_checksum_verification=True)
                    other = pf.schema_arrow
                    for i in range(pf.num_row_groups):
                        group = pf.read_row_group(i)  # every page of every column: checksums verified
                        self._check_rows(f, group)
                        keys.append(group.select(["track_id", "segment"]))
                except (pa.ArrowException, OSError) as exc:
                    raise LatentTableError(f"{f}: corrupt Parquet ({type(exc).__name__}); encode the corpus again") from None
                if not other.remove_metadata().equals(self.schema.remove_metadata()):
                    raise LatentTableError(f"{f}: schema differs from the table's first part; encode again")
            if keys:
                _refuse_duplicates(self.path, pa.concat_tables(keys).to_pandas())
        return self

    _REQUIRED_VALUES = ("track_id", "path", "split", "segment", "start_s", "duration_s", "latent")

    def _check_null_statistics(self) -> None:
        """Refuse missing values in required columns where the footers' statistics show them (cheap)."""
        for f in self.files:
            try:
                meta = pq.ParquetFile(f).metadata
            except (pa.ArrowException, OSError):
                continue  # a deep validate or the first read reports the damage
            names = [meta.schema.column(j).path.split(".")[0] for j in range(meta.num_columns)]
            for i in range(meta.num_row_groups):
                group = meta.row_group(i)
                for j, name in enumerate(names):
                    stats = group.column(j).statistics
                    if name in self._REQUIRED_VALUES and stats is not None and stats.has_null_count \
                            and stats.null_count:
                        raise LatentTableError(
                            f"{f}: {stats.null_count} rows have no {name}; not a table `musiclatent encode` "
                            "wrote, encode the corpus again")

    def _check_rows(self, f: Path, group: pa.Table) -> None:
        """One row group's values: no missing required value, finite latents."""
        for name in self._REQUIRED_VALUES:
            if group.column(name).null_count:
                raise LatentTableError(
                    f"{f}: {group.column(name).null_count} rows have no {name}; encode the corpus again")
        flat = fixed_list_to_numpy(group.column("latent"), self.latent_dim)
        bad = int(np.count_nonzero(~np.isfinite(flat).all(axis=1)))
        if bad:
            raise LatentTableError(
                f"{f}: {bad} rows hold NaN or infinite latents; analyses skip them, but re-encode the corpus "
                "(normalise the audio of those tracks)")

    # -- properties
    @property
    def latent_shape(self) -> tuple[int, int]:
        c, t = self.metadata["latent_shape"]
        return int(c), int(t)

    @property
    def latent_dim(self) -> int:
        c, t = self.latent_shape
        return c * t

    @property
    def model(self) -> str:
        return str(self.metadata.get("model", ""))

    @property
    def problems(self) -> list[dict[str, str]]:
        return list(self.metadata.get("problems", []))

    @property
    def num_rows(self) -> int:
        return sum(pq.ParquetFile(f).metadata.num_rows for f in self.files)

    def _dataset(self):
        import pyarrow.dataset as ds

        fmt = ds.ParquetFileFormat(
            default_fragment_scan_options=ds.ParquetFragmentScanOptions(page_checksum_verification=True))
        return ds.dataset([str(f) for f in self.files], format=fmt, schema=self.schema.remove_metadata())

    @staticmethod
    def _filter(filters: Any = None, track_ids: Iterable[str] | None = None):
        import pyarrow.compute as pc

        expr = None
        if filters is not None:
            expr = filters if isinstance(filters, pc.Expression) else pq.filters_to_expression(filters)
        if track_ids is not None:
            ids = pc.field("track_id").isin(pa.array(list(track_ids), type=pa.string()))
            expr = ids if expr is None else expr & ids
        return expr

    # -- frames
    def segments(self, columns: Sequence[str] | None = None, filters: Any = None):
        """Segment rows as a DataFrame (no ``latent`` column unless named in ``columns``).

        ``filters``: a ``pyarrow.compute`` expression or pyarrow DNF filters, e.g.
        ``[("split", "=", "test")]``.
        """
        cols = list(columns) if columns is not None else list(META_COLUMNS)
        table = self._dataset().to_table(columns=cols, filter=self._filter(filters))
        if "latent" in cols:
            lat = fixed_list_to_numpy(table.column("latent"), self.latent_dim)
            df = table.drop_columns(["latent"]).to_pandas()
            df.insert(cols.index("latent"), "latent", list(lat))
            return df
        return table.to_pandas()

    def _checked_rows(self, columns: Sequence[str]):
        """Segment rows of ``columns`` (plus ``segment``): a missing track id or a duplicated
        ``(track_id, segment)`` is refused with one line and a count (never silently merged)."""
        df = self.segments(columns=list(dict.fromkeys([*columns, "track_id", "segment"])))
        missing = int(df["track_id"].isna().sum())
        if missing:
            raise LatentTableError(f"{self.path}: {missing} rows have no track_id; encode the corpus again")
        _refuse_duplicates(self.path, df)
        return df

    def track_ids(self) -> list[str]:
        """Track ids in table order, each once."""
        return self.tracks()["track_id"].tolist()

    def tracks(self):
        """One row per track: track_id, path, label, split, n_segments, duration_s (table order)."""
        df = self._checked_rows(["track_id", "path", "label", "split", "duration_s"])
        if df.empty:
            import pandas as pd

            return pd.DataFrame(columns=["track_id", "path", "label", "split", "n_segments", "duration_s"])
        grouped = df.groupby("track_id", sort=False)
        out = grouped.agg(
            path=("path", "first"),
            label=("label", "first"),
            split=("split", "first"),
            n_segments=("duration_s", "size"),
            duration_s=("duration_s", "sum"),
        ).reset_index()
        out["n_segments"] = out["n_segments"].astype("int64")
        return out

    def segment_matrix(self, track_ids: Iterable[str] | None = None):
        """``(latents float32 [N, C*T'], segment rows DataFrame)`` for all or the given tracks."""
        table = self._dataset().to_table(columns=[*META_COLUMNS, "latent"], filter=self._filter(track_ids=track_ids))
        matrix = fixed_list_to_numpy(table.column("latent"), self.latent_dim)
        return matrix, table.drop_columns(["latent"]).to_pandas()

    def track_latents(self, track_id: str) -> np.ndarray:
        """One track's segment latents ``[n_segments, C, T']`` in segment order."""
        matrix, rows = self.segment_matrix([track_id])
        if not len(rows):
            raise LatentTableError(f"{self.path}: no track {track_id!r} in the table")
        order = np.argsort(rows["segment"].to_numpy(), kind="stable")
        return matrix[order].reshape(len(rows), *self.latent_shape)

    def iter_batches(self, columns: Sequence[str], batch_rows: int = 4096, filters: Any = None,
                     track_ids: Iterable[str] | None = None) -> Iterator[pa.RecordBatch]:
        """Stream record batches of ``columns`` (memory bounded by ``batch_rows``)."""
        scanner = self._dataset().scanner(
            columns=list(columns), filter=self._filter(filters, track_ids), batch_size=batch_rows
        )
        yield from scanner.to_batches()

    def track_matrix(self, pooling: str = DEFAULT_POOLING, track_ids: Iterable[str] | None = None,
                     batch_rows: int = 4096):
        """``(vectors float32 [n_tracks, D'], tracks DataFrame)``: segments pooled per track.

        Reads in batches, so memory is ``n_tracks x D'`` plus one batch. The DataFrame (as
        ``tracks()``, restricted to ``track_ids`` and in their order when given) has ``pooling`` in
        ``attrs["pooling"]``.
        """
        check_pooling(pooling)
        tracks = self.tracks()
        if track_ids is not None:
            wanted = list(dict.fromkeys(track_ids))
            known = set(tracks["track_id"])
            unknown = [t for t in wanted if t not in known]
            if unknown:
                raise LatentTableError(f"{self.path}: no track {unknown[0]!r} in the table")
            tracks = tracks.set_index("track_id").loc[wanted].reset_index()
        index = {tid: i for i, tid in enumerate(tracks["track_id"])}
        size = pooled_size(self.latent_shape, pooling)
        sums = np.zeros((len(index), size), dtype=np.float64)
        counts = np.zeros(len(index), dtype=np.int64)
        for batch in self.iter_batches(["track_id", "latent"], batch_rows, track_ids=track_ids):
            if not batch.num_rows:
                continue
            idx = np.fromiter((index[t] for t in batch.column(0).to_pylist()), dtype=np.int64, count=batch.num_rows)
            lat = fixed_list_to_numpy(batch.column(1), self.latent_dim).reshape(-1, *self.latent_shape)
            feats = segment_features(lat, pooling).astype(np.float64)
            order = np.argsort(idx, kind="stable")
            sidx = idx[order]
            starts = np.flatnonzero(np.r_[True, sidx[1:] != sidx[:-1]])
            sums[sidx[starts]] += np.add.reduceat(feats[order], starts, axis=0)
            counts += np.bincount(idx, minlength=len(index))
        means = sums / np.maximum(counts, 1)[:, None]
        vectors = finish_pooling(means, pooling)
        finite = np.isfinite(vectors).all(axis=1)
        skipped = int(len(finite) - np.count_nonzero(finite))
        if skipped:  # a segment with NaN/Inf latents (a table encode did not write): leave its track out
            vectors, tracks = vectors[finite], tracks[finite].reset_index(drop=True)
        tracks.attrs["pooling"] = pooling
        tracks.attrs["skipped_nonfinite"] = skipped
        return np.ascontiguousarray(vectors, dtype=np.float32), tracks

    def __repr__(self) -> str:
        return f"LatentTable({str(self.path)!r}, model={self.model!r}, latent_shape={self.latent_shape})"


def _refuse_duplicates(where: Path, rows) -> None:
    """One line with the count when ``rows`` repeat a ``(track_id, segment)``."""
    dup = rows.duplicated(["track_id", "segment"])
    if dup.any():
        first = rows.loc[dup, "track_id"].iloc[0]
        raise LatentTableError(
            f"{where}: {int(dup.sum())} duplicate rows (same track_id and segment, e.g. {first!r}); "
            "the table was merged or written twice, encode the corpus again")


def open_table(path: str | os.PathLike) -> LatentTable:
    """Shorthand for ``LatentTable.open(path)``."""
    return LatentTable.open(path)


__all__ = [
    "FOLDER_METADATA",
    "META_COLUMNS",
    "METADATA_KEY",
    "TABLE_FORMAT",
    "LatentTable",
    "LatentTableError",
    "LatentTableWriter",
    "base_metadata",
    "fixed_list_to_numpy",
    "is_latent_type",
    "latent_field",
    "open_table",
    "partial_path",
    "table_schema",
    "write_folder_metadata",
]
