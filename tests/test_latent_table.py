"""The Parquet latent table: schema, metadata, streaming writes, lazy reads, validation, pooling."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from musiclatent import FORMAT_VERSION
from musiclatent.latents.pooling import POOLINGS, PoolingError, pool_track, pooled_size
from musiclatent.latents.table import (
    METADATA_KEY,
    LatentTable,
    LatentTableError,
    LatentTableWriter,
    partial_path,
    write_folder_metadata,
)

C, T = 3, 4
META = {"model": "fake", "config": {"k": 1}, "sample_rate": 8000, "segment_samples": 16,
        "segment_seconds": 0.002, "latent_shape": [C, T], "checkpoint_sha256": "ab" * 32}


def track_rows(tid: str, n: int, label: str | None = "rock", split: str = "train", seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = {
        "track_id": [tid] * n, "path": [f"{tid}.wav"] * n, "label": [label] * n, "split": [split] * n,
        "segment": list(range(n)), "start_s": [i * 0.002 for i in range(n)],
        "duration_s": [0.002] * (n - 1) + [0.001],
    }
    return rows, rng.standard_normal((n, C, T)).astype(np.float32)


def write_table(path, tracks, row_group_rows=4, **kw):
    with LatentTableWriter(path, META, row_group_rows=row_group_rows, **kw) as w:
        for i, (tid, n) in enumerate(tracks):
            rows, lat = track_rows(tid, n, seed=i, label=None if tid == "unlabelled" else "rock")
            w.write(rows, lat)
        w.add_problem("bad.wav", "unreadable")
    return w


def test_schema_and_metadata_round_trip(tmp_path):
    path = tmp_path / "t.parquet"
    write_table(path, [("a", 3), ("b", 2), ("unlabelled", 1)])
    table = LatentTable.open(path)
    schema = pq.read_schema(path)
    assert schema.field("latent").type == pa.list_(pa.float32(), C * T)
    assert schema.field("segment").type == pa.int32()
    assert schema.field("start_s").type == pa.float32()
    meta = table.metadata
    assert meta["format"] == "musiclatent-latents" and meta["format_version"] == FORMAT_VERSION
    assert meta["complete"] is True and meta["config"] == {"k": 1}
    assert meta["problems"] == [{"path": "bad.wav", "reason": "unreadable"}]
    assert table.latent_shape == (C, T) and table.num_rows == 6
    assert table.track_ids() == ["a", "b", "unlabelled"]
    tracks = table.tracks()
    assert tracks["n_segments"].tolist() == [3, 2, 1]
    assert tracks["label"].isna().tolist() == [False, False, True]
    _, lat_a = track_rows("a", 3, seed=0)
    np.testing.assert_array_equal(table.track_latents("a"), lat_a)
    matrix, rows = table.segment_matrix(["b"])
    assert matrix.shape == (2, C * T) and matrix.dtype == np.float32
    assert rows["track_id"].tolist() == ["b", "b"]
    seg = table.segments(filters=[("track_id", "=", "a")])
    assert "latent" not in seg.columns and len(seg) == 3
    with_lat = table.segments(columns=["track_id", "latent"])
    assert len(with_lat["latent"].iloc[0]) == C * T
    assert not partial_path(path).exists()


def test_streaming_writer_writes_many_row_groups_with_bounded_buffer(tmp_path):
    path = tmp_path / "big.parquet"
    with LatentTableWriter(path, META, row_group_rows=5) as w:
        for i in range(40):
            rows, lat = track_rows(f"t{i:03d}", 2, seed=i)
            w.write(rows, lat)
            assert w._buffered < 5 + 2  # never more than one row group plus one track
    assert pq.ParquetFile(path).num_row_groups >= 10
    table = LatentTable.open(path)
    assert table.num_rows == 80 and len(table.track_ids()) == 40


def test_partial_file_is_never_read_as_complete(tmp_path):
    path = tmp_path / "t.parquet"
    with pytest.raises(RuntimeError):
        with LatentTableWriter(path, META, row_group_rows=2) as w:
            for i in range(3):
                w.write(*track_rows(f"t{i}", 2, seed=i))
            raise RuntimeError("killed")
    assert not path.exists() and partial_path(path).is_dir()
    with pytest.raises(LatentTableError, match="resume"):
        LatentTable.open(path)
    with pytest.raises(LatentTableError, match="incomplete"):
        LatentTable.open(partial_path(path))
    # resuming keeps the written tracks
    w2 = LatentTableWriter(path, META, row_group_rows=2)
    assert w2.done_tracks == {"t0", "t1", "t2"}
    w2.write(*track_rows("t3", 1, seed=3))
    w2.close()
    assert LatentTable.open(path).track_ids() == ["t0", "t1", "t2", "t3"]


def test_resume_with_another_checkpoint_starts_over(tmp_path):
    path = tmp_path / "t.parquet"
    w = LatentTableWriter(path, META, row_group_rows=1)
    w.write(*track_rows("t0", 2))
    w.abort()
    other = LatentTableWriter(path, {**META, "checkpoint_sha256": "cd" * 32}, row_group_rows=1)
    assert other.done_tracks == set()
    assert LatentTableWriter(path, META, resume=False).done_tracks == set()


def test_folder_of_part_files_opens_with_same_api(tmp_path):
    single = tmp_path / "t.parquet"
    write_table(single, [("a", 3), ("b", 2)])
    folder = tmp_path / "parts"
    folder.mkdir()
    full = pq.read_table(single)
    pq.write_table(full.slice(0, 2).replace_schema_metadata(None), folder / "part-00000.parquet")
    pq.write_table(full.slice(2).replace_schema_metadata(None), folder / "part-00001.parquet")
    with pytest.raises(LatentTableError):
        LatentTable.open(folder)  # no metadata yet: not a finished table
    write_folder_metadata(folder, {**META, "problems": []})
    a, b = LatentTable.open(single), LatentTable.open(folder)
    assert b.num_rows == a.num_rows == 5
    assert b.track_ids() == a.track_ids()
    np.testing.assert_array_equal(b.track_latents("a"), a.track_latents("a"))  # "a" spans two parts
    va, _ = a.track_matrix("meanstd")
    vb, _ = b.track_matrix("meanstd")
    np.testing.assert_allclose(va, vb, rtol=1e-6)
    b.validate()


def _rewrite_metadata(src, dst, meta):
    table = pq.read_table(src)
    md = None if meta is None else {METADATA_KEY: json.dumps(meta).encode()}
    pq.write_table(table.replace_schema_metadata(md), dst)


def test_validate_errors_are_one_line_and_name_the_file(tmp_path):
    good = tmp_path / "good.parquet"
    write_table(good, [("a", 2)])
    meta = LatentTable.open(good).metadata

    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    newer = tmp_path / "newer.parquet"
    _rewrite_metadata(good, newer, {**meta, "format_version": FORMAT_VERSION + 1})
    bare = tmp_path / "bare.parquet"
    _rewrite_metadata(good, bare, None)
    wrong_shape = tmp_path / "shape.parquet"
    _rewrite_metadata(good, wrong_shape, {**meta, "latent_shape": [C, T + 1]})
    cases = [(corrupt, "not a readable Parquet"), (newer, "newer"), (bare, "no musiclatent metadata"),
             (wrong_shape, "latent_shape")]
    for path, words in cases:
        with pytest.raises(LatentTableError) as info:
            LatentTable.open(path).validate()
        message = str(info.value)
        assert words in message and str(path) in message and "\n" not in message


def test_track_matrix_pooling_shapes_and_values(tmp_path):
    path = tmp_path / "t.parquet"
    write_table(path, [("a", 3), ("b", 2)], row_group_rows=1)
    table = LatentTable.open(path)
    for pooling in POOLINGS:
        vectors, tracks = table.track_matrix(pooling, batch_rows=1)
        assert vectors.shape == (2, pooled_size((C, T), pooling))
        assert tracks.attrs["pooling"] == pooling
        np.testing.assert_allclose(vectors[0], pool_track(table.track_latents("a"), pooling), rtol=1e-5, atol=1e-6)
    vectors, tracks = table.track_matrix("mean", track_ids=["b"])
    assert tracks["track_id"].tolist() == ["b"] and vectors.shape == (1, C)
    with pytest.raises(LatentTableError):
        table.track_matrix("mean", track_ids=["nope"])


def test_pool_track_values():
    x = np.zeros((2, 2, 4), dtype=np.float32)
    x[0, 0] = [1, -1, 1, -1]
    x[1, 0] = [3, -3, 3, -3]
    x[:, 1] = 2.0
    np.testing.assert_allclose(pool_track(x, "mean"), [0.0, 2.0])
    np.testing.assert_allclose(pool_track(x, "meanstd"), [0.0, 2.0, 2.0, 0.0])
    np.testing.assert_allclose(pool_track(x, "rms"), [np.sqrt(5.0), 2.0], rtol=1e-6)
    np.testing.assert_allclose(pool_track(x, "flatten"), x.mean(axis=0).reshape(-1))
    with pytest.raises(PoolingError):
        pool_track(x, "median")


def test_empty_table_round_trips(tmp_path):
    path = tmp_path / "empty.parquet"
    with LatentTableWriter(path, META) as w:
        w.add_problem("x.wav", "bad")
    table = LatentTable.open(path)
    assert table.num_rows == 0 and table.track_ids() == []
    vectors, _ = table.track_matrix("meanstd")
    assert vectors.shape == (0, 2 * C)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_table_is_the_one_import_path_of_schema_writer_and_reader():
    """``musiclatent.latents.table`` re-exports the three modules' public names (the same objects)."""
    import musiclatent.latents.table as table
    from musiclatent.latents import reader, schema, writer

    homes = {name: next(m for m in (schema, writer, reader) if hasattr(m, name))
             for name in table.__all__ if name != "LatentTableError"}
    assert homes["LatentTable"] is reader and homes["LatentTableWriter"] is writer
    assert homes["table_schema"] is schema and homes["write_folder_metadata"] is writer
    for name, module in homes.items():
        assert getattr(table, name) is getattr(module, name), name
