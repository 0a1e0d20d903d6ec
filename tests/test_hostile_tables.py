"""Hostile shared latent tables (issue 17, items 3, 5, 6): paths and a corpus root pointing
anywhere, NaN/Inf latents, null track ids, duplicate rows; each is refused with one line or
skipped with a count, and no audio from outside the corpus lands in an output folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner
from latent_fakes import FAKE, RATE, make_corpus, register_fake, save_fake_checkpoint

from musiclatent.cli import cli
from musiclatent.corpus.paths import CorpusPathError, corpus_file
from musiclatent.latents.table import METADATA_KEY, table_schema


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A workspace with a 4-track corpus encoded by the fake model, and a 'secret' WAV outside it."""
    from musiclatent import plugins

    torch.set_num_threads(1)
    plugins.reset()
    register_fake(plugins)
    base = tmp_path_factory.mktemp("shared")
    corpus = make_corpus(base / "corpus", genres=("blues", "jazz", "rock", "metal"))
    secret = base / "private" / "secret.wav"
    secret.parent.mkdir()
    sf.write(secret, 0.3 * np.sin(np.arange(3 * RATE) / RATE * 2 * np.pi * 440), RATE)
    ws = base / "ws"
    save_fake_checkpoint(ws / "runs" / FAKE / "best.safetensors")
    for argv in (["corpus", "scan", str(corpus), "--sample-rate", str(RATE)],
                 ["encode", "--model", FAKE, "--device", "cpu", "-q"]):
        res = CliRunner().invoke(cli, argv, env={"MUSICLATENT_WORKSPACE": str(ws)})
        assert res.exit_code == 0, (argv, res.output)
    yield base, ws, ws / "latents" / f"{FAKE}.parquet", secret
    plugins.reset()


def _rewrite(src: Path, dst: Path, change_rows=None, **meta_updates) -> Path:
    """A copy of table ``src`` with rows changed by ``change_rows(table)`` and metadata updated."""
    table = pq.read_table(src)
    meta = json.loads(table.schema.metadata[METADATA_KEY])
    if change_rows is not None:
        table = change_rows(table)
    meta.update(meta_updates)
    dim = table.schema.field("latent").type.list_size
    pq.write_table(table.replace_schema_metadata(table_schema(dim, meta).metadata), dst)
    return dst


def _set(table: pa.Table, name: str, values, nullable=False) -> pa.Table:
    i = table.schema.get_field_index(name)
    field = table.schema.field(i).with_nullable(nullable or table.schema.field(i).nullable)
    return table.set_column(i, field, pa.array(values, field.type))


def _run(ws: Path, argv: list[str]):
    return CliRunner().invoke(cli, argv, env={"MUSICLATENT_WORKSPACE": str(ws)})


def _one_line(res, *needles: str) -> str:
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and "plugin's authors" not in res.output, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, res.output
    for needle in needles:
        assert needle in lines[0], res.output
    return lines[0]


# ------------------------------------------------------------------------- item 3: traversal
def test_corpus_file_refuses_climbing_absolute_and_a_root_of_slash(tmp_path):
    (tmp_path / "a").mkdir()
    assert corpus_file(tmp_path, "a/x.wav") == tmp_path.resolve() / "a" / "x.wav"
    assert corpus_file(tmp_path, str(tmp_path / "a" / "x.wav")) == tmp_path.resolve() / "a" / "x.wav"
    for rel in ("../x.wav", "a/../../x.wav", "/etc/passwd", str(tmp_path.parent / "x.wav")):
        with pytest.raises(CorpusPathError, match="outside the corpus root"):
            corpus_file(tmp_path, rel)
    with pytest.raises(CorpusPathError, match="file-system root"):
        corpus_file("/", "etc/passwd")


def _outside_tables(src: Path, folder: Path, secret: Path) -> dict[str, Path]:
    """Shared tables whose first track names ``secret``: by ``..``, absolute, under a root of ``/``."""
    paths = pq.read_table(src).column("path").to_pylist()
    first = paths[0]
    corpus = Path(json.loads(pq.read_schema(src).metadata[METADATA_KEY])["corpus_root"])
    climbing = "../" * len(Path(first).parent.parts) + "../" + str(secret.relative_to(corpus.parent))
    assert (corpus / Path(first).parent / climbing).resolve() == secret.resolve()
    return {
        "climbing": _rewrite(src, folder / "climbing.parquet",
                             lambda t: _set(t, "path", [climbing if p == first else p for p in paths])),
        "absolute": _rewrite(src, folder / "absolute.parquet",
                             lambda t: _set(t, "path", [str(secret) if p == first else p for p in paths])),
        "slash": _rewrite(src, folder / "slash.parquet",
                          lambda t: _set(t, "path", [str(corpus / p)[1:] if p != first else str(secret)[1:]
                                                     for p in paths]), corpus_root="/"),
    }


@pytest.mark.parametrize("kind", ["climbing", "absolute", "slash"])
def test_analyses_and_report_read_no_audio_outside_the_corpus(shared, tmp_path, kind):
    _, ws, src, secret = shared
    table = _outside_tables(src, tmp_path, secret)[kind]
    first = pq.read_table(table).column("track_id")[0].as_py()
    ws = tmp_path / "elsewhere"  # the table was shared: this workspace knows no corpus
    views = _run(ws, ["analyze", "views", "--table", str(table), "--track", first, "--out", str(tmp_path / "v"),
                      "--format", "html", "--seconds", "1"])
    assert views.exit_code == 0, views.output
    index = json.loads((tmp_path / "v" / "index.json").read_text())
    assert not list((tmp_path / "v").rglob("*original*")), index  # the secret was never read
    assert any("outside the corpus root" in n or "file-system root" in n for n in index["notes"]), index["notes"]
    rep = _run(ws, ["report", "--table", str(table), "--out", str(tmp_path / "r"), "--preview-seconds", "0.5"])
    assert rep.exit_code == 0, rep.output
    previews = list((tmp_path / "r").rglob("tracks/*"))
    secret_audio = sf.read(secret, dtype="float32")[0][: RATE // 2]
    for p in previews:  # the previews made are corpus tracks, never the secret
        audio = sf.read(p, dtype="float32")[0]
        assert audio.shape != secret_audio.shape or not np.allclose(audio, secret_audio, atol=1e-3), p
    if kind == "slash":
        assert not previews  # a root of "/" is refused as a whole


# ------------------------------------------------------------------------- item 5: NaN / Inf
def _poison(src: Path, dst: Path, value: float) -> tuple[Path, str]:
    table = pq.read_table(src)
    victim = table.column("track_id")[0].as_py()
    ids = table.column("track_id").to_pylist()
    lat = np.asarray(table.column("latent").combine_chunks().flatten().to_numpy(zero_copy_only=False))
    dim = table.schema.field("latent").type.list_size
    lat = lat.reshape(len(ids), dim).copy()
    lat[[i for i, t in enumerate(ids) if t == victim][0], 3] = value
    i = table.schema.get_field_index("latent")
    arr = pa.FixedSizeListArray.from_arrays(pa.array(lat.reshape(-1), pa.float32()), dim)
    return _rewrite(src, dst, lambda t: t.set_column(i, t.schema.field(i), arr)), victim


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_latents_fail_validate_and_are_skipped_with_a_count(shared, tmp_path, value):
    _, ws, src, _ = shared
    table, victim = _poison(src, tmp_path / "nan.parquet", value)
    _one_line(_run(ws, ["latents", "validate", str(table)]), "nan.parquet", "NaN or infinite")
    ws = tmp_path / "ws"  # a workspace of its own: the report reads its analyses
    res = _run(ws, ["analyze", "neighbors", "--table", str(table), "--format", "html"])
    assert res.exit_code == 0, res.output
    index = json.loads((ws / "analyses" / "neighbors" / "index.json").read_text())
    assert any("1 tracks with NaN or infinite latents were left out" in n for n in index["notes"]), index
    csv = next((ws / "analyses" / "neighbors").glob("*.csv")).read_text()
    assert victim not in csv and "nan" not in csv.lower()
    from musiclatent.latents.table import LatentTable

    X, tracks = LatentTable.open(table).track_matrix("meanstd")
    assert np.isfinite(X).all() and victim not in set(tracks["track_id"]) and tracks.attrs["skipped_nonfinite"] == 1
    rep = _run(ws, ["report", "--table", str(table), "--out", str(tmp_path / "r"), "--preview-seconds", "0"])
    assert rep.exit_code == 0, rep.output


# -------------------------------------------------------------- item 6: nulls and duplicates
def test_null_track_id_is_one_line_from_validate_and_analyze(shared, tmp_path):
    _, ws, src, _ = shared
    table = _rewrite(src, tmp_path / "null.parquet",
                     lambda t: _set(t, "track_id", [None] + t.column("track_id").to_pylist()[1:], nullable=True))
    _one_line(_run(ws, ["latents", "validate", str(table)]), "null.parquet", "no track_id")
    _one_line(_run(ws, ["analyze", "pca", "--table", str(table), "--out", str(tmp_path / "p")]), "no track_id")


def test_duplicate_rows_are_reported_by_validate_and_refused_by_readers(shared, tmp_path):
    _, ws, src, _ = shared
    table = _rewrite(src, tmp_path / "dup.parquet", lambda t: pa.concat_tables([t, t.slice(0, 2)]))
    _one_line(_run(ws, ["latents", "validate", str(table)]), "dup.parquet", "2 duplicate rows")
    _one_line(_run(ws, ["analyze", "pca", "--table", str(table), "--out", str(tmp_path / "p")]), "2 duplicate rows")


# ----------------------------------------------------------- item 5: latent shape vs its model
def test_decode_refuses_a_table_whose_latent_shape_its_model_does_not_make(shared, tmp_path):
    _, ws, src, _ = shared
    c, t = json.loads(pq.read_schema(src).metadata[METADATA_KEY])["latent_shape"]
    table = _rewrite(src, tmp_path / "reshaped.parquet", latent_shape=[1, c * t])  # same values, other shape
    first = pq.read_table(table).column("track_id")[0].as_py()
    _one_line(_run(ws, ["decode", str(table), "--track", first, "--out-dir", str(tmp_path / "d")]),
              "reshaped.parquet", f"(1, {c * t})", f"({c}, {t})")
    assert not (tmp_path / "d").exists() or not list((tmp_path / "d").iterdir())
