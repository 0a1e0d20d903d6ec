"""The analysis runner (what lands on disk, and where) and the ``analyze`` command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from musiclatent.analyses import AnalysisResult
from musiclatent.hookspecs import hookimpl
from musiclatent.registry import AnalysisSpec, Option

EVIL = "</script><script>alert('x')</script>"


def evil_run(ctx, n: int = 3, who: tuple = ()):
    """A fake analysis writing outputs named after hostile track ids and labels."""
    import pandas as pd

    from musiclatent.charts import alt

    X, tracks = ctx.track_vectors()
    frame = pd.DataFrame({"track_id": tracks["track_id"], "label": tracks["label"],
                          "x": X[:, 0], "y": X[:, 1]})
    altair = alt()
    chart = altair.Chart(frame, title=f"evil (pooling: {ctx.pooling})").mark_point().encode(
        x="x:Q", y="y:Q", tooltip=["track_id:N", "label:N"])
    tid = str(tracks["track_id"].iloc[0])
    return AnalysisResult(
        summary={"n": n, "mean": np.float32(1.5), "who": list(who), "bad": float("nan")},
        tables={tid: frame},
        charts={f"../{tid}": chart},
        audio={tid: (np.zeros(800, dtype=np.float32), 8000)},
        notes=["a note"],
    )


class EvilPlugin:
    @hookimpl
    def register_analyses(self, register):
        register(AnalysisSpec(name="evil", description="writes hostile names", run=evil_run,
                              options=(Option(name="n", type="int", default=3, help="How many."),
                                       Option(name="who", multiple=True, default=(), help="Who."))))


@pytest.fixture
def evil(fresh_plugins):
    fresh_plugins.register_plugin(EvilPlugin(), name="evil-plugin")
    return fresh_plugins


@pytest.fixture
def hostile_table(tmp_path):
    """A synthetic table whose track ids climb out of folders and whose labels are HTML."""
    from musiclatent.testing import write_synthetic_table

    ids = [f"../../escape{i}" for i in range(8)]
    labels = [EVIL if i % 2 else "jazz" for i in range(8)]
    return write_synthetic_table(tmp_path / "t.parquet", n_tracks=8, track_ids=ids, labels=labels)


def test_outputs_stay_inside_and_index_lists_them(evil, hostile_table, tmp_path):
    from musiclatent.analyses.runner import run_analysis

    out = run_analysis("evil", table=hostile_table, out_dir=tmp_path / "out", formats=("html",), n=5)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    outside = [p for p in files if out not in p.parents and p.parent != tmp_path]
    assert outside == []
    index = json.loads((out / "index.json").read_text())
    assert index["analysis"] == "evil" and index["options"] == {"n": 5, "who": []}
    assert index["summary"] == {"n": 5, "mean": 1.5, "who": [], "bad": None}
    assert index["table"]["path"].endswith("t.parquet")
    assert index["plugin"] == "evil-plugin" and index["notes"] == ["a note"]
    kinds = sorted(o["kind"] for o in index["outputs"])
    assert kinds == ["audio", "chart", "table"]
    for o in index["outputs"]:
        for rel in o["files"].values():
            assert (out / rel).is_file() and ".." not in rel
    assert (out / "escape0.csv").is_file() and (out / "escape0.wav").is_file()


def test_html_labels_do_not_escape_json(evil, hostile_table, tmp_path):
    from musiclatent.analyses.runner import run_analysis

    out = run_analysis("evil", table=hostile_table, out_dir=tmp_path / "out", formats=("html",))
    html = next(out.glob("*.html")).read_text()
    assert "alert" in html  # the label is there ...
    assert "<script>alert" not in html and "</script><script>" not in html  # ... but inert
    assert html.count("<script") == html.count("</script>")


def test_previous_output_replaced_whole(evil, hostile_table, tmp_path):
    from musiclatent.analyses.runner import run_analysis

    folder = tmp_path / "out"
    run_analysis("evil", table=hostile_table, out_dir=folder, formats=("html",))
    (folder / "stale.csv").write_text("old")  # left in an earlier run's folder
    run_analysis("evil", table=hostile_table, out_dir=folder, formats=("html",))
    assert not (folder / "stale.csv").exists() and (folder / "index.json").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_failed_run_keeps_previous_output(evil, hostile_table, tmp_path):
    from musiclatent.analyses.runner import write_result

    folder = tmp_path / "out"
    folder.mkdir()
    old = '{"format": "musiclatent-analysis"}'
    (folder / "index.json").write_text(old)
    bad = AnalysisResult(tables={"t": "not a frame"})
    with pytest.raises(AttributeError):
        write_result(bad, folder, {"analysis": "x"})
    assert (folder / "index.json").read_text() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "t.parquet"]  # no staging left


def test_unknown_option_and_pooling_are_errors(evil, hostile_table, tmp_path):
    from musiclatent.analyses import AnalysisError
    from musiclatent.analyses.runner import run_analysis
    from musiclatent.latents.pooling import PoolingError

    with pytest.raises(AnalysisError, match="no option.*bogus.*n, who"):
        run_analysis("evil", table=hostile_table, out_dir=tmp_path / "o", bogus=1)
    with pytest.raises(PoolingError):
        run_analysis("evil", table=hostile_table, out_dir=tmp_path / "o", pooling="max")


def test_cli_help_lists_spec_options(evil):
    from musiclatent.cli import cli

    result = CliRunner().invoke(cli, ["analyze", "evil", "--help"])
    assert result.exit_code == 0
    assert "--n INTEGER" in result.output and "How many." in result.output and "--who" in result.output
    assert "--pooling" in result.output and "--table" in result.output
    listing = CliRunner().invoke(cli, ["analyze", "--help"])
    assert "evil" in listing.output and "umap" in listing.output


def test_cli_umap_help_lists_its_options(fresh_plugins):
    from musiclatent.cli import cli

    result = CliRunner().invoke(cli, ["analyze", "umap", "--help"])
    assert result.exit_code == 0
    for flag in ("--n-neighbors", "--min-dist", "--metric", "--seed"):
        assert flag in result.output


def test_cli_unknown_analysis_is_one_line(fresh_plugins):
    from musiclatent.cli import cli

    result = CliRunner().invoke(cli, ["analyze", "nosuch"])
    assert result.exit_code != 0
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unknown analysis 'nosuch'" in lines[0] and "pca" in lines[0]


def test_cli_runs_and_prints_written(evil, hostile_table, tmp_path):
    from musiclatent.cli import cli

    out = tmp_path / "cli-out"
    result = CliRunner().invoke(cli, ["analyze", "evil", "--table", str(hostile_table), "--out", str(out),
                                      "--format", "html", "--n", "2", "--who", "a", "--who", "b"])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output and "index.json" in result.output
    assert json.loads((out / "index.json").read_text())["options"] == {"n": 2, "who": ["a", "b"]}


def test_cli_missing_table_is_clear(fresh_plugins, tmp_path):
    from musiclatent.cli import cli

    result = CliRunner().invoke(cli, ["--workspace", str(tmp_path / "ws"), "analyze", "pca"])
    assert result.exit_code == 1
    assert "no latent table" in result.output and "Traceback" not in result.output


def test_analyze_help_imports_nothing_heavy():
    code = ("import sys; from musiclatent.cli import main\n"
            "try: main(['analyze', 'umap', '--help'])\nexcept SystemExit: pass\n"
            "bad = [m for m in ('torch', 'umap', 'sklearn', 'altair') if m in sys.modules]\n"
            "print('HEAVY', bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
