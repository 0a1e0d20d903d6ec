"""Issue 13, the analysis half: no silent data loss, no silent nonsense.

A foreign ``--out`` folder is never replaced; label scores are skipped (with a reason) when the
tracks have fewer than two labels; user errors (query audio, option values, devices) are not
blamed on the plugin; ``neighbors --query`` prints its neighbours and never finds itself; heatmap
numbers stay readable on dark cells. Tables are tiny and charts are not rendered (``formats=()``).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from musiclatent.analyses import AnalysisError
from musiclatent.registry import AnalysisSpec


@pytest.fixture
def table6(tmp_path):
    """Six tracks, none labelled (a corpus scanned without labels)."""
    from musiclatent.testing import write_synthetic_table

    return write_synthetic_table(tmp_path / "t.parquet", n_tracks=6, n_labels=2, labels=[None] * 6)


# ----------------------------------------------------------------- --out is never a foreign folder
def test_foreign_out_folder_is_refused_and_kept(table6, tmp_path):
    from musiclatent.analyses.runner import run_analysis

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    with pytest.raises(AnalysisError, match="not the output of a musiclatent analysis"):
        run_analysis("pca", table=table6, out_dir=mine, formats=())
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
    assert (mine / "thesis.tex").read_text() == "precious"
    foreign_index = tmp_path / "site"
    foreign_index.mkdir()
    (foreign_index / "index.json").write_text('{"name": "my web site"}')
    with pytest.raises(AnalysisError, match="refusing to replace"):
        run_analysis("pca", table=table6, out_dir=foreign_index, formats=())
    assert (foreign_index / "index.json").read_text() == '{"name": "my web site"}'


def test_cli_out_dot_does_not_wipe_the_current_folder(table6, tmp_path, monkeypatch):
    from musiclatent.cli import cli

    here = tmp_path / "here"
    here.mkdir()
    (here / "notes.txt").write_text("keep me")
    monkeypatch.chdir(here)
    result = CliRunner().invoke(cli, ["analyze", "pca", "--table", str(table6), "--out", ".", "--format", "svg"])
    assert result.exit_code == 1
    assert "refusing to replace" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in here.iterdir()) == ["notes.txt"]


def test_an_empty_or_own_folder_is_used(table6, tmp_path):
    from musiclatent.analyses.runner import run_analysis

    empty = tmp_path / "empty"
    empty.mkdir()
    out = run_analysis("pca", table=table6, out_dir=empty, formats=())
    assert json.loads((out / "index.json").read_text())["format"] == "musiclatent-analysis"
    (out / "old.csv").write_text("from an earlier run")
    run_analysis("pca", table=table6, out_dir=empty, formats=())
    assert not (out / "old.csv").exists()


# ----------------------------------------------------------------- fewer than two labels
def test_label_skip_reason():
    from musiclatent.analyses.common import label_skip_reason

    assert label_skip_reason(["a", "b", "unknown"], "x") is None
    assert "none of the 3 tracks has a label" in label_skip_reason(["unknown"] * 3, "purity")
    assert "same label 'rock'" in label_skip_reason(["rock", "rock", "unknown"], "purity")


@pytest.mark.parametrize("labels", [[None] * 6, ["rock"] * 6], ids=["unlabelled", "one-label"])
def test_label_scores_skipped_with_a_reason(labels, tmp_path):
    from musiclatent.analyses.runner import run_analysis
    from musiclatent.testing import write_synthetic_table

    table = write_synthetic_table(tmp_path / "t.parquet", n_tracks=6, n_labels=2, labels=labels)
    out = run_analysis("cluster", table=table, out_dir=tmp_path / "c", formats=(), k_max=3, method="kmeans")
    index = json.loads((out / "index.json").read_text())
    assert not {"kmeans_purity", "kmeans_ari", "kmeans_nmi"} & set(index["summary"])
    assert "kmeans_silhouette" in index["summary"]
    assert index["summary"]["n_labels"] == (0 if labels[0] is None else 1)
    assert "k_at_labels" not in index["summary"] and index["summary"]["k_shown"] == 2
    assert any("skipped" in n and "two different labels" in n for n in index["notes"])
    assert "contingency" not in {o["name"] for o in index["outputs"]}

    out = run_analysis("neighbors", table=table, out_dir=tmp_path / "n", formats=(), k=2)
    index = json.loads((out / "index.json").read_text())
    assert "precision_at_k" not in index["summary"] and "chance_precision" not in index["summary"]
    assert any(n.startswith("precision@2 skipped") for n in index["notes"])
    assert {o["name"] for o in index["outputs"]} == {"neighbors"}

    out = run_analysis("probe", table=table, out_dir=tmp_path / "p", formats=(), baseline=False)
    index = json.loads((out / "index.json").read_text())
    assert index["summary"]["n_tracks"] == 6  # not "0 tracks"
    assert "latent_accuracy" not in index["summary"]
    assert len(index["notes"]) == 1 and "genre probe skipped" in index["notes"][0]


def test_probe_counts_all_tracks_when_some_are_unlabelled(tmp_path):
    from musiclatent.analyses.runner import run_analysis
    from musiclatent.testing import write_synthetic_table

    labels = ["a", "b", None, None, None, None]
    table = write_synthetic_table(tmp_path / "t.parquet", n_tracks=6, n_labels=2, labels=labels)
    with pytest.raises(AnalysisError, match="the table has 6 tracks, 2 of them labelled"):
        run_analysis("probe", table=table, out_dir=tmp_path / "p", formats=(), baseline=False)


# ----------------------------------------------------------------- whose error is it
def _raising(exc):
    def run(ctx):
        raise exc
    return run


def _spec(exc, name="boom"):
    return AnalysisSpec(name=name, description="raises", run=_raising(exc))


def test_device_and_option_errors_are_not_the_plugins(table6, tmp_path, monkeypatch):
    from musiclatent.analyses.runner import run_analysis, run_spec

    err = RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported")
    with pytest.raises(AnalysisError) as info:
        run_spec(_spec(err), table=table6, out_dir=tmp_path / "o", formats=(), device="auto")
    text = str(info.value)
    assert "compute device failed" in text and "--device cpu" in text and "\n" not in text
    assert "plugin" not in text

    with pytest.raises(AnalysisError, match="device 'gpu' is not available on this machine") as info:
        run_analysis("pca", table=table6, out_dir=tmp_path / "o", formats=(), device="gpu")
    assert "plugin" not in str(info.value)
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(AnalysisError, match="'cuda' is not available on this machine"):
        run_analysis("pca", table=table6, out_dir=tmp_path / "o", formats=(), device="cuda")

    for options, match in (({"components": 0}, "--components must be at least 1"),
                           ({"components": "3"}, "--components must be an int")):
        with pytest.raises(AnalysisError, match=match) as info:
            run_analysis("pca", table=table6, out_dir=tmp_path / "o", formats=(), **options)
        assert "plugin" not in str(info.value)
    assert not (tmp_path / "o").exists()


def test_a_real_bug_is_still_the_plugins(table6, tmp_path):
    from musiclatent.analyses.runner import run_spec

    for exc in (ZeroDivisionError("division by zero"), RuntimeError("shape mismatch on the same device")):
        with pytest.raises(AnalysisError, match="report it to the plugin's authors"):
            run_spec(_spec(exc), table=table6, out_dir=tmp_path / "o", formats=())
    with pytest.raises(AnalysisError, match="report it to the plugin's authors"):  # on the cpu: a bug
        run_spec(_spec(RuntimeError("cuda what?")), table=table6, out_dir=tmp_path / "o", formats=(),
                 device="cpu")


@pytest.fixture
def tiny(tmp_path):
    """8 tracks of 2 labels encoded by the tiny codec (real checkpoint and corpus)."""
    from musiclatent import plugins
    from musiclatent.testing import register_tiny_codec, tiny_model_table

    plugins.reset()
    register_tiny_codec()
    yield tiny_model_table(tmp_path / "tiny", n_tracks=8, n_labels=2)
    plugins.reset()


def test_corrupt_query_file_is_a_user_error(tiny, tmp_path):
    from musiclatent.analyses.runner import run_analysis

    bad = tmp_path / "query.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    with pytest.raises(AnalysisError) as info:
        run_analysis("neighbors", table=tiny, out_dir=tmp_path / "n", formats=(), query=(str(bad),))
    text = str(info.value)
    assert text.startswith("query file ") and "query.wav" in text and "cannot be used" in text
    assert "plugin" not in text and "\n" not in text


# ----------------------------------------------------------------- neighbors --query
def test_query_neighbors_printed_and_query_not_its_own_neighbour(tiny, tmp_path):
    import pandas as pd

    from musiclatent.cli import cli

    own = tiny.parent / "corpus" / "genre1" / "genre1.00003.wav"
    out = tmp_path / "n"
    result = CliRunner().invoke(cli, ["analyze", "neighbors", "--table", str(tiny), "--out", str(out),
                                      "--format", "svg", "--k", "3", "--query", str(own)])
    assert result.exit_code == 0, result.output
    q = pd.read_csv(out / "query_neighbors.csv")
    assert len(q) == 3 and "genre1/genre1.00003" not in set(q["neighbor_id"])
    assert list(q["rank"]) == [1, 2, 3]
    lines = result.output.splitlines()
    head = lines.index("nearest tracks to genre1.00003.wav (cosine distance, smaller is closer):")
    assert lines[head + 1].split() == ["rank", "track", "label", "distance"]
    for i, row in enumerate(q.itertuples(index=False), start=head + 2):
        assert lines[i].split() == [str(row.rank), row.neighbor_id, row.neighbor_label, f"{row.distance:.4f}"]
    assert "left out of its own neighbours" in result.output


# ----------------------------------------------------------------- heatmap text
def test_heatmap_text_is_white_on_dark_cells():
    import pandas as pd

    from musiclatent.analyses.common import heatmap

    frame = pd.DataFrame({"x": list("abcd"), "y": ["r"] * 4, "n": [0, 2, 8, 10]})
    spec = heatmap(frame, "x", "y", "n", "t", "x", "y", "n").to_dict()
    color = spec["layer"][1]["encoding"]["color"]
    assert color["condition"]["value"] == "white" and color["value"] == "black"
    threshold = float(color["condition"]["test"].split(">")[1])
    assert threshold == 5.0  # half way up the colour scale: 8 and 10 get white text
    assert [v > threshold for v in frame["n"]] == [False, False, True, True]


def test_demo_remakes_analyses_without_png_or_of_an_older_encoding(tmp_path):
    from musiclatent.demo import DEMO_FORMATS, _analysis_is_current

    assert "png" in DEMO_FORMATS
    table = tmp_path / "t.parquet"
    folder = tmp_path / "a"
    folder.mkdir()
    index = {"table": {"path": str(table), "checkpoint_sha256": "ab"},
             "outputs": [{"kind": "chart", "name": "m", "files": {"html": "m.html", "json": "m.json"}}]}
    (folder / "index.json").write_text(json.dumps(index))
    assert not _analysis_is_current(folder, table, "ab")
    index["outputs"][0]["files"]["png"] = "m.png"
    index["table"]["created"] = "2026-01-01T00:00:00+0000"
    (folder / "index.json").write_text(json.dumps(index))
    assert _analysis_is_current(folder, table, "ab", "2026-01-01T00:00:00+0000")
    assert not _analysis_is_current(folder, table, "ab", "2026-02-02T00:00:00+0000")  # encoded again
