"""``musiclatent export``: a latent table as one file that Spotlight, Embedding Atlas, DuckDB,
polars or a spreadsheet opens directly (see docs/explore.md).

One row per track by default: ``track_id, label, split, n_segments, duration_s, path`` (as in the
table), ``audio`` (the absolute audio path), ``preview`` (the report's preview file, when a report
exists), ``x, y`` (the workspace's UMAP analysis, else its PCA one, else a PCA computed here),
``cluster`` (the cluster analysis' assignment, when it ran), ``neighbor_ids`` and
``neighbor_distances`` (the neighbors analysis, else computed here) and the pooled vector
``latent_<pooling>`` (``fixed_size_list<float32>``). Embedding Atlas exports add ``neighbors``,
the struct ``{ids: row numbers, distances}`` that tool reads. ``per="segment"``: one row per
segment with the raw ``latent`` (``fixed_size_list<float32>[C*T']``), streamed in batches.

Parquet exports carry a ``musiclatent.export`` JSON document (format, pooling, where each column
came from) in their metadata and the pooling in the vector field's metadata. CSV exports write
list values (the vector, neighbour ids) as JSON arrays in one cell. Files are written atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from musiclatent import __version__
from musiclatent.errors import MusiclatentError
from musiclatent.exporting import sources
from musiclatent.latents.pooling import DEFAULT_POOLING

FORMATS = ("spotlight", "embedding-atlas", "parquet", "csv")
PER = ("track", "segment")
EXPORT_KEY = b"musiclatent.export"
DEFAULT_NEIGHBORS = 10


class ExportError(MusiclatentError, ValueError):
    """Bad export options (unknown format, nothing to export)."""


@dataclass
class ExportResult:
    path: Path
    rows: int
    columns: list[str]
    command: str
    notes: list[str] = field(default_factory=list)


def default_name(model: str, fmt: str, per: str) -> str:
    from musiclatent.fileio import safe_name

    return f"{safe_name(model or 'latents')}-{per}-{fmt}{'.csv' if fmt == 'csv' else '.parquet'}"


def export_table(table, *, fmt: str = "parquet", per: str = "track", out: str | os.PathLike | None = None,
                 workspace=None, pooling: str = DEFAULT_POOLING, k: int = DEFAULT_NEIGHBORS, metric: str = "cosine",
                 analyses_dir: str | os.PathLike | None = None,
                 report_dir: str | os.PathLike | None = None) -> ExportResult:
    """Write ``table`` (a path or an opened ``LatentTable``) for ``fmt``; see the module docstring.

    ``out``: the file (default ``<workspace>/exports/<model>-<per>-<fmt>.parquet|csv``);
    ``analyses_dir``/``report_dir``: where analyses and the report are (default: the workspace's).
    """
    from musiclatent.fileio import inside
    from musiclatent.latents.pooling import check_pooling
    from musiclatent.latents.table import LatentTable

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if per not in PER:
        raise ExportError(f"unknown --per {per!r}; choose track or segment")
    check_pooling(pooling)
    opened = table if isinstance(table, LatentTable) else LatentTable.open(table)
    if out is not None:
        target = Path(out).expanduser().resolve()
        if target.is_dir():
            raise ExportError(f"{target} is a folder; pass the file to write (e.g. {target / 'tracks.parquet'})")
    elif workspace is not None:
        target = inside(workspace.root, "exports", default_name(opened.model, fmt, per))
    else:
        raise ExportError("no output file: pass --out FILE or a workspace")
    if analyses_dir is None and workspace is not None:
        analyses_dir = workspace.root / "analyses"
    if report_dir is None and workspace is not None:
        report_dir = workspace.report_dir
    notes: list[str] = []
    info: dict[str, Any] = {
        "format": "musiclatent-export", "for": fmt, "per": per, "model": opened.model,
        "table": str(Path(opened.path).resolve()), "latent_shape": list(opened.latent_shape),
        "musiclatent_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    root = _corpus_root(opened, workspace)
    if root is None:
        notes.append("the corpus folder is unknown: the audio column is empty "
                     "(run `musiclatent corpus scan PATH` in this workspace)")
    info["corpus_root"] = str(root) if root else None
    previews = sources.report_previews(Path(report_dir) if report_dir else None)
    from musiclatent.fileio import atomic_path

    if per == "track":
        batch = _track_batch(opened, fmt, pooling, k, metric, root, previews,
                             Path(analyses_dir) if analyses_dir else None, info, notes)
        batches, schema = [batch], batch.schema
    else:
        schema, batches = _segment_batches(opened, root, previews, info)
    info["notes"] = notes
    schema = schema.with_metadata({EXPORT_KEY: json.dumps(info, default=str).encode()})
    rows = 0
    with atomic_path(target) as tmp:
        rows = _write(tmp, fmt, schema, batches)
    command = open_command(fmt, per, target, schema, pooling)
    return ExportResult(path=target, rows=rows, columns=list(schema.names), command=command, notes=notes)


def _corpus_root(opened, workspace) -> Path | None:
    root = opened.metadata.get("corpus_root")
    if root:
        return Path(root).expanduser().resolve()
    if workspace is not None:
        with contextlib.suppress(Exception):
            return Path(workspace.corpus()).resolve()
    return None


def _audio_paths(paths, root: Path | None) -> list[str | None]:
    if root is None:
        return [str(p) if Path(str(p)).is_absolute() else None for p in paths]
    return [str(p) if Path(str(p)).is_absolute() else str(root / str(p)) for p in paths]


def _labels(values) -> list[str | None]:
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]


def _vector_array(X: np.ndarray) -> pa.FixedSizeListArray:
    X = np.ascontiguousarray(X, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(X.reshape(-1), type=pa.float32()), int(X.shape[1]))


def _track_batch(opened, fmt, pooling, k, metric, root, previews, analyses_dir, info, notes) -> pa.RecordBatch:
    X, tracks = opened.track_matrix(pooling)
    if not len(X):
        raise ExportError(f"{opened.path}: the table has no tracks; nothing to export")
    ids = tracks["track_id"].astype(str).tolist()
    table_path = Path(opened.path)
    cols: dict[str, pa.Array] = {
        "track_id": pa.array(ids, pa.string()),
        "label": pa.array(_labels(tracks["label"].tolist()), pa.string()),
        "split": pa.array(tracks["split"].astype(str).tolist(), pa.string()),
        "n_segments": pa.array(tracks["n_segments"].to_numpy(), pa.int32()),
        "duration_s": pa.array(tracks["duration_s"].to_numpy(), pa.float32()),
        "path": pa.array(tracks["path"].astype(str).tolist(), pa.string()),
        "audio": pa.array(_audio_paths(tracks["path"].tolist(), root), pa.string()),
    }
    if previews:
        cols["preview"] = pa.array([previews.get(t) for t in ids], pa.string())
    xy = sources.coordinates(analyses_dir, table_path, ids, notes)
    if xy is None:
        xy = (_pca_xy(X), f"pca computed by export (pooling {pooling})")
        notes.append("no umap or pca analysis of this table: x, y are a PCA computed here "
                     "(run `musiclatent analyze umap` for the map the report shows)")
    cols["x"], cols["y"] = pa.array(xy[0][:, 0], pa.float32()), pa.array(xy[0][:, 1], pa.float32())
    info["xy"] = xy[1]
    assigned = sources.clusters(analyses_dir, table_path, ids, notes)
    if assigned is not None:
        cols["cluster"] = pa.array(assigned[0], pa.int32())
        info["cluster"] = f"cluster analysis, {assigned[1]}"
    found = sources.neighbours(analyses_dir, table_path, ids, notes)
    if found is not None:
        nb_ids, nb_dist, info["neighbors"] = found
    else:
        nb_ids, nb_dist = _compute_neighbours(X, ids, k, metric)
        info["neighbors"] = f"computed by export: k={min(k, len(ids) - 1)}, metric={metric}, pooling {pooling}"
    cols["neighbor_ids"] = pa.array(nb_ids, pa.list_(pa.string()))
    cols["neighbor_distances"] = pa.array(nb_dist, pa.list_(pa.float32()))
    if fmt == "embedding-atlas":
        row = {t: i for i, t in enumerate(ids)}
        cols["neighbors"] = pa.array(
            [{"ids": [row[n] for n in nbs], "distances": d} for nbs, d in zip(nb_ids, nb_dist, strict=True)],
            pa.struct([("ids", pa.list_(pa.int64())), ("distances", pa.list_(pa.float32()))]))
    name = f"latent_{pooling}"
    info["vector"] = {"column": name, "pooling": pooling, "dims": int(X.shape[1])}
    fields = [pa.field(n, a.type) for n, a in cols.items()]
    fields.append(pa.field(name, pa.list_(pa.float32(), int(X.shape[1])), nullable=False,
                           metadata={b"pooling": pooling.encode(), b"model": str(opened.model).encode()}))
    return pa.RecordBatch.from_arrays([*cols.values(), _vector_array(X)], schema=pa.schema(fields))


def _pca_xy(X: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    from musiclatent.analyses.common import standardize

    n_comp = min(2, X.shape[0], X.shape[1])
    if X.shape[0] < 2:
        return np.zeros((len(X), 2), dtype=np.float32)
    coords = PCA(n_components=n_comp, random_state=0).fit_transform(standardize(X))
    return np.pad(coords, ((0, 0), (0, 2 - coords.shape[1]))).astype(np.float32)


def _compute_neighbours(X, ids, k, metric):
    from musiclatent.analyses.neighbors import nearest

    kk = int(min(max(1, k), len(ids) - 1))
    if kk < 1:
        return [[] for _ in ids], [[] for _ in ids]
    dist, idx = nearest(X, X, kk, metric, exclude_self=True)
    names = np.asarray(ids, dtype=object)
    return [names[r].tolist() for r in idx], [d.tolist() for d in dist]


def _segment_batches(opened, root, previews, info):
    from musiclatent.latents.schema import META_COLUMNS, fixed_list_to_numpy, latent_field

    dim = opened.latent_dim
    fields = [opened.schema.field(c).remove_metadata() for c in META_COLUMNS]
    fields.insert(fields.index(opened.schema.field("path").remove_metadata()) + 1, pa.field("audio", pa.string()))
    if previews:
        fields.append(pa.field("preview", pa.string()))
    fields.append(latent_field(dim, opened.latent_shape))
    schema = pa.schema(fields)
    info["vector"] = {"column": "latent", "pooling": None, "dims": dim, "shape": list(opened.latent_shape)}

    def batches():
        for batch in opened.iter_batches([*META_COLUMNS, "latent"]):
            if not batch.num_rows:
                continue
            arrays = {c: batch.column(c) for c in META_COLUMNS}
            arrays["audio"] = pa.array(_audio_paths(batch.column("path").to_pylist(), root), pa.string())
            if previews:
                arrays["preview"] = pa.array([previews.get(t) for t in batch.column("track_id").to_pylist()],
                                             pa.string())
            arrays["latent"] = _vector_array(fixed_list_to_numpy(batch.column("latent"), dim))
            yield pa.RecordBatch.from_arrays([arrays[f.name] for f in schema], schema=schema)

    return schema, batches()


def _write(tmp: Path, fmt: str, schema: pa.Schema, batches) -> int:
    rows = 0
    if fmt == "csv":
        import pyarrow.csv as pacsv

        csv_schema = pa.schema([pa.field(f.name, pa.string()) if _is_list(f.type) else f.remove_metadata()
                                for f in schema])
        with pacsv.CSVWriter(str(tmp), csv_schema) as writer:
            for batch in batches:
                writer.write_batch(_csv_batch(batch, csv_schema))
                rows += batch.num_rows
        return rows
    import pyarrow.parquet as pq

    with pq.ParquetWriter(str(tmp), schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_fixed_size_list(t) or pa.types.is_struct(t)


def _csv_batch(batch: pa.RecordBatch, csv_schema: pa.Schema) -> pa.RecordBatch:
    """List columns as JSON arrays (floats with 9 significant digits: every float32 is recovered)."""
    fmt = "{:.9g}".format
    arrays = []
    for f in batch.schema:
        col = batch.column(f.name)
        if pa.types.is_fixed_size_list(f.type):
            values = col.flatten().to_numpy(zero_copy_only=False).reshape(len(col), -1).tolist()
            arrays.append(pa.array(["[" + ",".join(map(fmt, row)) + "]" for row in values]))
        elif pa.types.is_list(f.type) and pa.types.is_floating(f.type.value_type):
            arrays.append(pa.array([None if v is None else "[" + ",".join(map(fmt, v)) + "]"
                                    for v in col.to_pylist()]))
        elif _is_list(f.type):
            arrays.append(pa.array([None if v is None else json.dumps(v) for v in col.to_pylist()]))
        else:
            arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, schema=csv_schema)


def open_command(fmt: str, per: str, path: Path, schema: pa.Schema, pooling: str) -> str:
    """The shell command that opens the export in the tool it was made for."""
    q = shlex.quote(str(path))
    vector = f"latent_{pooling}" if per == "track" else "latent"
    dims = schema.field(vector).type.list_size
    if fmt == "spotlight":
        audio = "".join(f" --dtype {c}=audio" for c in ("audio", "preview") if c in schema.names)
        return f"spotlight {q} --dtype {vector}=embedding{audio}"
    if fmt == "embedding-atlas":
        if per == "track":
            return f"embedding-atlas {q} --x x --y y --neighbors neighbors --text track_id"
        return f"embedding-atlas {q} --vector latent --text track_id"
    literal = "'" + str(path).replace("'", "''") + "'"
    source = f"read_csv({literal})" if fmt == "csv" else literal
    sql = f"select track_id, {vector}::FLOAT[{dims}] as {vector} from {source} limit 5"
    plain = not any(ch in sql for ch in '"$`\\!')
    return f'duckdb -c "{sql}"' if plain else f"duckdb -c {shlex.quote(sql)}"


__all__ = ["FORMATS", "PER", "ExportError", "ExportResult", "export_table", "open_command"]
