"""``musiclatent export``: files DuckDB and polars read, columns from the workspace's analyses,
the report's previews, a clear error for an unknown format, atomic writes inside the folder."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from click.testing import CliRunner

from musiclatent.exporting import EXPORT_KEY, ExportError, export_table
from musiclatent.latents.table import LatentTable, LatentTableWriter
from musiclatent.workspace import Workspace

C, T, RATE = 4, 6, 8000
N_TRACKS = 9


def make_workspace(tmp_path, model="fake", with_audio=False):
    """A workspace with a 9-track table (track 0 unlabelled, 1-3 segments each), corpus WAVs optional."""
    ws = Workspace.open(tmp_path / "ws")
    corpus = tmp_path / "corpus"
    meta = {"model": model, "sample_rate": RATE, "segment_samples": 16, "latent_shape": [C, T],
            "corpus_root": str(corpus)}
    rng = np.random.default_rng(0)
    path = ws.latents_path(model)
    with LatentTableWriter(path, meta) as w:
        for i in range(N_TRACKS):
            n, tid = 1 + i % 3, f"g{i % 3}/t{i}"
            w.write({"track_id": [tid] * n, "path": [tid + ".wav"] * n,
                     "label": [None if i == 0 else f"g{i % 3}"] * n, "split": ["train"] * n,
                     "segment": list(range(n)), "start_s": [0.0] * n, "duration_s": [0.002] * n},
                    rng.standard_normal((n, C, T)) + i % 3)
            if with_audio:
                (corpus / tid).parent.mkdir(parents=True, exist_ok=True)
                sf.write(corpus / f"{tid}.wav", 0.1 * np.sin(np.arange(RATE) * 0.05 * (i + 1)), RATE)
    return ws, path


def _read_export(path):
    import duckdb

    table = pq.read_table(path)
    return table, json.loads(table.schema.metadata[EXPORT_KEY]), duckdb.connect()


def test_track_export_without_analyses_reads_in_duckdb_and_polars(tmp_path):
    import polars as pl

    ws, path = make_workspace(tmp_path)
    result = export_table(path, fmt="parquet", workspace=ws)
    assert result.path == ws.root / "exports" / "fake-track-parquet.parquet" and result.rows == N_TRACKS
    table, info, con = _read_export(result.path)
    X, tracks = LatentTable.open(path).track_matrix("meanstddelta")
    assert info["vector"] == {"column": "latent_meanstddelta", "pooling": "meanstddelta", "dims": 3 * C}
    assert table.schema.field("latent_meanstddelta").metadata[b"pooling"] == b"meanstddelta"
    assert "cluster" not in table.schema.names  # no cluster analysis: no invented clusters
    assert info["xy"].startswith("pca computed") and any("x, y are a PCA" in n for n in result.notes)

    rel = con.sql(f"select track_id, label, audio, latent_meanstddelta::FLOAT[{3 * C}] as v, neighbor_ids "
                  f"from '{result.path}'")
    assert str(rel.types[3]) == f"FLOAT[{3 * C}]"
    rows = rel.fetchall()
    assert [r[0] for r in rows] == tracks["track_id"].tolist()
    assert rows[0][1] is None and rows[1][1] == "g1"  # the unlabelled track stays null
    assert rows[1][2] == str((tmp_path / "corpus" / "g1/t1.wav").resolve())
    np.testing.assert_allclose(np.array([r[3] for r in rows], dtype=np.float32), X, rtol=1e-6)
    # computed neighbours: the nearest track by cosine distance first, never the track itself
    Z = X / np.linalg.norm(X, axis=1, keepdims=True)
    dist = 1 - Z @ Z.T
    np.fill_diagonal(dist, np.inf)
    ids = tracks["track_id"].tolist()
    assert [r[4][0] for r in rows] == [ids[j] for j in dist.argmin(axis=1)]
    assert all(len(r[4]) == N_TRACKS - 1 and r[0] not in r[4] for r in rows)

    frame = pl.read_parquet(result.path)
    assert frame.schema["latent_meanstddelta"] == pl.Array(pl.Float32, 3 * C)
    assert frame["x"].dtype == pl.Float32 and frame["x"].null_count() == 0


def test_export_takes_map_clusters_and_neighbours_from_the_analyses(tmp_path):
    import pandas as pd

    from musiclatent.analyses import AnalysisResult
    from musiclatent.analyses.runner import run_analysis, write_result

    ws, path = make_workspace(tmp_path)
    ids = LatentTable.open(path).track_ids()
    umap = pd.DataFrame({"track_id": ids[::-1], "x": np.arange(N_TRACKS, dtype=float)[::-1],
                         "y": -np.arange(N_TRACKS, dtype=float)[::-1]})  # another row order
    write_result(AnalysisResult(tables={"umap_coordinates": umap}), ws.analysis_dir("umap"),
                 {"analysis": "umap", "table": {"path": str(path)}, "pooling": "meanstd"}, formats=())
    run_analysis("cluster", table=path, workspace=ws, formats=(), k_min=2, k_max=3)
    run_analysis("neighbors", table=path, workspace=ws, formats=(), k=3)
    result = export_table(path, fmt="embedding-atlas", workspace=ws)
    table, info, _ = _read_export(result.path)
    assert table.column("x").to_pylist() == list(range(N_TRACKS))
    assert table.column("y").to_pylist() == [-v for v in range(N_TRACKS)]
    assert info["xy"].startswith("umap analysis")
    assign = pd.read_csv(ws.analysis_dir("cluster") / "assignments.csv")
    col = next(c for c in assign.columns if c.startswith("kmeans_k"))
    assert table.column("cluster").to_pylist() == assign[col].tolist() and col in info["cluster"]
    nb = pd.read_csv(ws.analysis_dir("neighbors") / "neighbors.csv").sort_values(["track_id", "rank"])
    got = dict(zip(table.column("track_id").to_pylist(), table.column("neighbor_ids").to_pylist(), strict=True))
    assert got == {t: g["neighbor_id"].tolist() for t, g in nb.groupby("track_id")}
    assert info["neighbors"] == "neighbors analysis (pooling meanstddelta)"
    # Embedding Atlas: {ids: zero-based row numbers, distances}, the same neighbours
    for row in table.to_pylist():
        assert [ids[i] for i in row["neighbors"]["ids"]] == row["neighbor_ids"]
        assert row["neighbors"]["distances"] == row["neighbor_distances"]
    assert result.command == (f"embedding-atlas {result.path} --x x --y y --neighbors neighbors "
                              "--text track_id")

    # analyses made from another table are never mixed in
    other = ws.latents_path("other")
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_bytes(path.read_bytes())
    again = export_table(other, fmt="parquet", workspace=ws)
    table, info, _ = _read_export(again.path)
    assert "cluster" not in table.schema.names and info["xy"].startswith("pca computed")
    assert info["neighbors"].startswith("computed by export")
    assert any("made from another latent table" in n for n in again.notes)


def test_csv_export_vectors_are_json_arrays(tmp_path):
    import polars as pl

    ws, path = make_workspace(tmp_path)
    result = export_table(path, fmt="csv", workspace=ws)
    assert result.path.suffix == ".csv"
    X, _ = LatentTable.open(path).track_matrix("meanstddelta")
    import duckdb

    got = duckdb.connect().sql(f"select latent_meanstddelta::FLOAT[{3 * C}] from read_csv('{result.path}')").fetchall()
    np.testing.assert_array_equal(np.array([g[0] for g in got], dtype=np.float32), X)  # 9 digits: exact
    frame = pl.read_csv(result.path)
    vectors = np.array([json.loads(v) for v in frame["latent_meanstddelta"]], dtype=np.float32)
    np.testing.assert_allclose(vectors, X, rtol=1e-6, atol=1e-7)
    assert json.loads(frame["neighbor_ids"][0])[0] in set(frame["track_id"])
    assert result.command.startswith("duckdb -c") and f"FLOAT[{3 * C}]" in result.command


def test_segment_export_streams_the_raw_latents(tmp_path):
    import musiclatent.api as ml

    ws, path = make_workspace(tmp_path)
    result = ml.export("spotlight", per="segment", workspace=ws)  # the workspace's latest table
    assert result.path == ws.root / "exports" / "fake-segment-spotlight.parquet"
    opened = LatentTable.open(path)
    assert result.rows == opened.num_rows
    table, info, con = _read_export(result.path)
    field = table.schema.field("latent")
    assert json.loads(field.metadata[b"shape"]) == [C, T] and info["per"] == "segment"
    got = con.sql(f"select latent::FLOAT[{C * T}] from '{result.path}'").fetchall()
    np.testing.assert_array_equal(np.array([g[0] for g in got], dtype=np.float32), opened.segment_matrix()[0])
    assert result.command == f"spotlight {result.path} --dtype latent=embedding --dtype audio=audio"


def test_export_of_a_folder_of_part_files(tmp_path):
    from musiclatent.latents.table import write_folder_metadata

    ws, path = make_workspace(tmp_path)
    folder = tmp_path / "parts"
    folder.mkdir()
    full = pq.read_table(path)
    pq.write_table(full.slice(0, 5), folder / "part-000000.parquet")
    pq.write_table(full.slice(5), folder / "part-000001.parquet")
    write_folder_metadata(folder, LatentTable.open(path).metadata)
    a = export_table(path, out=tmp_path / "a.parquet")
    b = export_table(folder, out=tmp_path / "b.parquet")
    assert pq.read_table(a.path).column("latent_meanstddelta").equals(pq.read_table(b.path).column("latent_meanstddelta"))


def test_report_previews_are_linked(tmp_path):
    from musiclatent.report.build import build_report

    ws, path = make_workspace(tmp_path, with_audio=True)
    build_report(ws, table=path, preview_seconds=0.2)
    result = export_table(path, fmt="spotlight", workspace=ws)
    previews = pq.read_table(result.path).column("preview").to_pylist()
    assert all(p is not None and p.startswith(str(ws.report_dir.resolve())) for p in previews)
    assert sf.info(previews[0]).duration <= 0.21
    assert result.command.endswith("--dtype audio=audio --dtype preview=audio")


def test_unknown_format_is_a_clear_error_and_paths_stay_inside(tmp_path):
    from musiclatent.cli import cli

    ws, path = make_workspace(tmp_path, model="../../evil/name")
    with pytest.raises(ExportError, match="unknown export format 'tableau'; choose one of spotlight"):
        export_table(path, fmt="tableau", workspace=ws)
    result = CliRunner().invoke(cli, ["-w", str(ws.root), "export", "--for", "tableau"])
    assert result.exit_code == 2 and "Invalid value for '--for'" in result.output
    ok = CliRunner().invoke(cli, ["-w", str(ws.root), "export", "--for", "embedding-atlas"])
    assert ok.exit_code == 0, ok.output
    written = [p for p in tmp_path.rglob("*.parquet") if "exports" in p.parts]
    assert len(written) == 1 and written[0].parent == ws.root / "exports"
    assert "open it: embedding-atlas" in ok.output and str(written[0]) in ok.output


def test_failed_export_leaves_the_previous_file(tmp_path, monkeypatch):
    import musiclatent.exporting as exporting

    ws, path = make_workspace(tmp_path)
    first = export_table(path, fmt="parquet", workspace=ws)
    before = first.path.read_bytes()

    def broken(tmp, fmt, schema, batches):
        tmp.write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exporting, "_write", broken)
    with pytest.raises(OSError):
        export_table(path, fmt="parquet", workspace=ws)
    assert first.path.read_bytes() == before
    assert sorted(p.name for p in first.path.parent.iterdir()) == [first.path.name]


def test_spotlight_loads_the_export(tmp_path):
    """The real Renumics Spotlight (in its own environment: .ci/run builds it from
    .ci/spotlight-constraints.txt) builds its data store from the export, embedding and audio included."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    python = os.environ.get("MUSICLATENT_SPOTLIGHT_PYTHON")
    if not python:
        pytest.skip("set MUSICLATENT_SPOTLIGHT_PYTHON to a Python with renumics-spotlight (.ci/run does)")
    ws, path = make_workspace(tmp_path, with_audio=True)
    result = export_table(path, fmt="spotlight", workspace=ws)
    script = Path(__file__).resolve().parents[1] / "examples" / "check_spotlight_export.py"
    proc = subprocess.run([python, str(script), str(result.path), "latent_meanstddelta"], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"ok: {N_TRACKS} rows, latent_meanstddelta has {3 * C} values" in proc.stdout
    assert sys.executable != python
