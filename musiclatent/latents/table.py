"""The Parquet latent table: one row per encoded segment, written streaming, read lazily.

This is the documented import path for the table's names; the code is in three modules, one job
each:

- :mod:`musiclatent.latents.schema`: the format (columns, the Arrow schema, the metadata
  document under the key ``musiclatent``, the latent column's types);
- :mod:`musiclatent.latents.writer`: ``LatentTableWriter`` (streaming into a resumable
  ``.<name>.partial`` folder, one atomic rename at ``close()``) and ``write_folder_metadata``;
- :mod:`musiclatent.latents.reader`: ``LatentTable`` (a file or a folder of ``part-*.parquet``
  files, opened lazily and validated) and ``open_table``.
"""

from __future__ import annotations

from musiclatent.latents.errors import LatentTableError
from musiclatent.latents.reader import LatentTable, open_table
from musiclatent.latents.schema import (
    FOLDER_METADATA,
    LATENT_LAYOUT,
    META_COLUMNS,
    METADATA_KEY,
    METADATA_SHA_KEY,
    REQUIRED_METADATA,
    SHAPE_KEY,
    TABLE_FORMAT,
    base_metadata,
    fixed_list_to_numpy,
    is_latent_type,
    latent_dim_of,
    latent_field,
    partial_path,
    read_file_metadata,
    table_schema,
)
from musiclatent.latents.writer import LatentTableWriter, write_folder_metadata

__all__ = [
    "FOLDER_METADATA",
    "LATENT_LAYOUT",
    "META_COLUMNS",
    "METADATA_KEY",
    "METADATA_SHA_KEY",
    "REQUIRED_METADATA",
    "SHAPE_KEY",
    "TABLE_FORMAT",
    "LatentTable",
    "LatentTableError",
    "LatentTableWriter",
    "base_metadata",
    "fixed_list_to_numpy",
    "is_latent_type",
    "latent_dim_of",
    "latent_field",
    "open_table",
    "partial_path",
    "read_file_metadata",
    "table_schema",
    "write_folder_metadata",
]
