"""The report's "songs like this" panel, its query command, and the dims section."""

from __future__ import annotations

import json

from report_helpers import make_workspace

from musiclatent.report.build import build_report
from musiclatent.report.collect import AnalysisOutputs
from musiclatent.report.similar import query_command


def test_query_command_states_the_run_and_is_quoted(tmp_path):
    out = AnalysisOutputs(name="neighbors", folder=tmp_path, meta={
        "table.path": "/data/my tables/t;rm -rf.parquet", "pooling": "flatten",
        "options": {"k": 8, "metric": "cosine", "index": "auto", "query": []}})
    cmd = query_command(out, tmp_path / "w s", None)
    assert cmd == (f"musiclatent -w '{tmp_path}/w s' analyze neighbors --table '/data/my tables/t;rm -rf.parquet' "
                   "--pooling flatten --k 8 --query YOUR_SONG.wav")
    assert query_command(None, None, None) == "musiclatent analyze neighbors --query YOUR_SONG.wav"


def test_query_command_reads_the_defaults_from_the_spec(tmp_path):
    """The options' defaults come from the analysis' spec, not from a copy in the report."""
    from musiclatent.registry import AnalysisSpec, Option

    spec = AnalysisSpec(name="neighbors", description="d", run="x:y", options=(
        Option(name="k", type="int", default=8), Option(name="exact_search", type="bool", default=True),
        Option(name="query", type="path", multiple=True, default=())))
    out = AnalysisOutputs(name="neighbors", folder=tmp_path,
                          meta={"options": {"k": 8, "exact_search": False, "query": ["a.wav"]}})
    assert query_command(out, None, None, spec) == \
        "musiclatent analyze neighbors --no-exact-search --query YOUR_SONG.wav"


def test_report_has_the_panel_and_escapes_the_command(tmp_path):
    ws, tracks = make_workspace(tmp_path / "<b>")
    page = build_report(ws, preview_seconds=0).read_text()
    assert 'id="like-input"' in page and 'id="query-cmd"' in page
    assert "<b>" not in page.split('id="query-cmd">')[1].split("</code>")[0]
    assert f"-w &#x27;{tmp_path}/&lt;b&gt;/ws&#x27;" in page
    assert page.index('id="like"') > page.index('id="sec-neighbors"')


def test_dims_section_in_the_report(tmp_path):
    from musiclatent.analyses.runner import run_analysis
    from musiclatent.testing import write_synthetic_table

    ws, _ = make_workspace(tmp_path)
    table = write_synthetic_table(tmp_path / "t.parquet", n_tracks=12)
    run_analysis("dims", table=table, out_dir=ws.root / "analyses" / "dims", formats=("html",))
    page = build_report(ws, preview_seconds=0).read_text()
    assert 'id="sec-dims"' in page and "Latent dimensions in use" in page
    summary = json.loads((ws.root / "analyses" / "dims" / "index.json").read_text())["summary"]
    assert f"<b>{summary['dims_99']}</b> hold 99%" in page
    assert page.index('id="sec-dims"') > page.index('id="sec-probe"')
    # a second model's table, in its own folder: its own section with its own headline
    other = write_synthetic_table(tmp_path / "t2.parquet", n_tracks=12, latent_shape=(6, 4), seed=1)
    run_analysis("dims", table=other, out_dir=ws.root / "analyses" / "dims-other", formats=("html",))
    page = build_report(ws, preview_seconds=0).read_text()
    assert 'id="sec-dims-other"' in page and "Of 6 latent channels" in page and "Of 4 latent channels" in page


def test_query_results_are_playable_and_escaped(tmp_path):
    import pandas as pd

    ws, tracks = make_workspace(tmp_path)
    folder = ws.root / "analyses" / "neighbors"
    index = json.loads((folder / "index.json").read_text())
    rows = [{"query": "<i>mine</i>.wav", "rank": r, "neighbor_id": tracks[r]["track_id"],
             "neighbor_label": tracks[r]["label"], "neighbor_path": tracks[r]["path"], "distance": 0.01 * r}
            for r in (1, 2)]
    pd.DataFrame(rows).to_csv(folder / "query_neighbors.csv", index=False)
    index["outputs"].append({"kind": "table", "name": "query_neighbors", "rows": 2,
                             "columns": list(rows[0]), "files": {"csv": "query_neighbors.csv"}})
    (folder / "index.json").write_text(json.dumps(index))
    page = build_report(ws, preview_seconds=0.5).read_text()
    block = page.split("<h4>Your queries</h4>")[1].split("</ul>")[0]
    assert "&lt;i&gt;mine&lt;/i&gt;.wav" in block and "<i>" not in block
    assert block.count('class="play"') == 2  # the neighbours have previews: play buttons
    assert f'data-track="{tracks[1]["track_id"]}"' in block
