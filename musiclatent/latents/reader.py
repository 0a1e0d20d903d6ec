"""Reading a latent table: ``LatentTable`` (opened lazily: metadata now, rows when asked).

A table is one ``.parquet`` file, or a folder of ``part-*.parquet`` files (written in parallel,
e.g. by a Ray engine) whose metadata is in ``musiclatent.json`` in the folder (written last, see
``musiclatent.latents.writer.write_folder_metadata``) or else in the parts themselves. Both open
with ``LatentTable.open``, which checks the format (:mod:`musiclatent.latents.schema`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from musiclatent import FORMAT_VERSION
from musiclatent.latents.errors import LatentTableError
from musiclatent.latents.pooling import (
    DEFAULT_POOLING,
    PoolingError,
    check_pooling,
    check_view,
    finish_pooling,
    pooled_size,
    segment_features,
)
from musiclatent.latents.schema import (
    FOLDER_METADATA,
    META_COLUMNS,
    REQUIRED_METADATA,
    TABLE_FORMAT,
    fixed_list_to_numpy,
    is_latent_type,
    partial_path,
    read_file_metadata,
)


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
                metadata = read_file_metadata(files[0])
                schema = pq.read_schema(files[0])
        elif path.is_file():
            files = [path]
            metadata = read_file_metadata(path)
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
        try:
            check_view(meta.get("latent_view"), shape[0])
        except PoolingError as exc:
            raise LatentTableError(f"{where}: bad latent_view in metadata ({exc}); encode the corpus again") from None
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
    def latent_view(self) -> dict[str, list[int]] | None:
        """The encoding model's latent view (how pooling reads the channels), or ``None``."""
        return check_view(self.metadata.get("latent_view"), self.latent_shape[0])

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
        ``attrs["pooling"]``. Pooling reads the latents under the model's ``latent_view``.
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
        view = self.latent_view
        sums = np.zeros((len(index), size), dtype=np.float64)
        counts = np.zeros(len(index), dtype=np.int64)
        for batch in self.iter_batches(["track_id", "latent"], batch_rows, track_ids=track_ids):
            if not batch.num_rows:
                continue
            idx = np.fromiter((index[t] for t in batch.column(0).to_pylist()), dtype=np.int64, count=batch.num_rows)
            lat = fixed_list_to_numpy(batch.column(1), self.latent_dim).reshape(-1, *self.latent_shape)
            feats = segment_features(lat, pooling, view).astype(np.float64)
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
