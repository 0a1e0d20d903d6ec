"""The latent table's format: columns, schema, the metadata document, the latent column's types.

Columns: ``track_id``, ``path``, ``label`` (nullable), ``split``, ``segment`` (int32), ``start_s``,
``duration_s`` (float32, the real, unpadded length of the segment) and ``latent``
(``fixed_size_list<float32>[C*T']``, the flattened ``[C, T']`` latent, channel-major). The
``latent`` field carries its shape as field metadata (``shape`` ``[C, T']``, ``channels``,
``frames``, ``layout``), and the file a plain ``musiclatent.latent_shape`` key, so tools that
never parse the JSON document still find it. File-level key-value metadata: one JSON document
under the key ``musiclatent`` (see ``REQUIRED_METADATA``), with its sha256 beside it
(``read_file_metadata`` refuses a damaged footer).

Parquet itself has no fixed-size list type: pyarrow and polars restore ``fixed_size_list`` /
``Array`` from the stored Arrow schema, DuckDB reads a ``FLOAT[]`` list (cast it with
``latent::FLOAT[C*T']``, see docs/explore.md). Tables whose ``latent`` is a variable-length
``list<float32>`` (written by a tool that dropped the Arrow schema) are read too, each row
checked to hold ``C*T'`` values (``fixed_list_to_numpy``).

Written by :mod:`musiclatent.latents.writer`, read by :mod:`musiclatent.latents.reader`; both
import this module and never each other.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from musiclatent import FORMAT_VERSION, __version__
from musiclatent.latents.errors import LatentTableError

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


def read_file_metadata(path: Path) -> dict[str, Any]:
    """The JSON metadata document of one Parquet file, checked against its sha256."""
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

