"""The latent column's type as other tools see it: field metadata with the shape, DuckDB and
polars reading it, and tables whose ``latent`` is a variable-length list (Arrow schema dropped)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_latent_table import META, C, T, track_rows, write_table

from musiclatent.latents.table import SHAPE_KEY, LatentTable, LatentTableError, LatentTableWriter


def test_latent_field_carries_its_shape_and_tools_read_it(tmp_path):
    path = tmp_path / "t.parquet"
    write_table(path, [("a", 3), ("b", 2)])
    schema = pq.read_schema(path)
    field = schema.field("latent")
    assert field.type == pa.list_(pa.float32(), C * T)
    assert json.loads(field.metadata[b"shape"]) == [C, T]
    assert field.metadata[b"channels"] == str(C).encode() and field.metadata[b"frames"] == str(T).encode()
    assert json.loads(schema.metadata[SHAPE_KEY]) == [C, T]

    import duckdb
    import polars as pl

    frame = pl.read_parquet(path)
    assert frame.schema["latent"] == pl.Array(pl.Float32, C * T)
    con = duckdb.connect()
    # Parquet has no fixed-size list: DuckDB reads a list, the documented cast makes it an array
    assert con.sql(f"select latent from '{path}'").types[0] == "FLOAT[]"
    rel = con.sql(f"select latent::FLOAT[{C * T}] as latent from '{path}'")
    assert str(rel.types[0]) == f"FLOAT[{C * T}]"
    kv = dict(con.sql(f"select key::varchar, value::varchar from parquet_kv_metadata('{path}')").fetchall())
    assert json.loads(kv["musiclatent.latent_shape"]) == [C, T]
    expected = LatentTable.open(path).segment_matrix()[0]
    np.testing.assert_array_equal(np.array(rel.fetchnumpy()["latent"].tolist(), dtype=np.float32), expected)


def _as_variable_list(src, dst, bad_row: int | None = None):
    """Rewrite a table the old way: ``latent`` a ``list<float32>``, metadata kept."""
    table = pq.read_table(src)
    rows = table.column("latent").to_pylist()
    if bad_row is not None:
        rows[bad_row] = rows[bad_row][:-1]
    col = pa.array(rows, type=pa.list_(pa.float32()))
    table = table.set_column(table.schema.get_field_index("latent"), "latent", col)
    pq.write_table(table, dst)


def test_table_with_variable_length_latents_still_reads(tmp_path):
    new, old = tmp_path / "new.parquet", tmp_path / "old.parquet"
    write_table(new, [("a", 3), ("b", 2)], row_group_rows=2)
    _as_variable_list(new, old)
    assert pa.types.is_list(pq.read_schema(old).field("latent").type)
    a, b = LatentTable.open(new), LatentTable.open(old)
    b.validate()
    np.testing.assert_array_equal(b.track_latents("a"), a.track_latents("a"))
    np.testing.assert_array_equal(b.segment_matrix()[0], a.segment_matrix()[0])
    np.testing.assert_allclose(b.track_matrix("meanstd")[0], a.track_matrix("meanstd")[0], rtol=1e-6)

    short = tmp_path / "short.parquet"
    _as_variable_list(new, short, bad_row=3)
    with pytest.raises(LatentTableError, match=f"holds {C * T - 1} values, not the table's {C * T}"):
        LatentTable.open(short).segment_matrix()


def test_resumed_table_keeps_the_field_metadata(tmp_path):
    path = tmp_path / "r.parquet"
    with pytest.raises(RuntimeError), LatentTableWriter(path, META, row_group_rows=1) as w:
        w.write(*track_rows("a", 2))
        raise RuntimeError("killed")
    with LatentTableWriter(path, META, row_group_rows=1) as w:
        assert w.resumed and w.done_tracks == {"a"}
        w.write(*track_rows("b", 1, seed=1))
    table = LatentTable.open(path)
    assert table.track_ids() == ["a", "b"]
    assert json.loads(pq.read_schema(path).field("latent").metadata[b"shape"]) == [C, T]
