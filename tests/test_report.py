"""The HTML report: self-contained, escaped, atomic, inside its folder, tolerant of missing analyses."""

from __future__ import annotations

import json
import re

import pytest
import soundfile as sf
from click.testing import CliRunner
from report_helpers import EVIL_LABEL, EVIL_NAME, make_workspace

from musiclatent.fileio import safe_name
from musiclatent.report.build import ReportError, build_report
from musiclatent.report.sections import script_json


def _files(root):
    return {p for p in root.rglob("*") if p.is_file()}


def _data_blob(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="ml-data">(.*?)</script>', page, re.S)
    assert m, "the page embeds its data block"
    return json.loads(m.group(1))


def test_report_is_self_contained(tmp_path):
    ws, tracks = make_workspace(tmp_path)
    index = build_report(ws, preview_seconds=1.0)
    folder = index.parent
    page = index.read_text()
    assert folder == ws.report_dir
    bundle = (folder / "vendor" / "vega-bundle.js").read_text()
    assert "vegaEmbed" in bundle and len(bundle) > 100_000
    srcs = re.findall(r'<script[^>]*\bsrc="([^"]+)"', page) + re.findall(r'<link[^>]*href="([^"]+)"', page)
    assert srcs and all(not s.startswith(("http:", "https:", "//")) for s in srcs), srcs
    for rel in srcs:
        assert (folder / rel).is_file(), rel
    data = _data_blob(page)
    assert len(data["charts"]) == 2  # the UMAP map and the confusion matrix
    assert set(data["tracks"]) == {t["track_id"] for t in tracks}
    for track in tracks:
        audio = data["tracks"][track["track_id"]]["audio"]
        assert audio.startswith("audio/tracks/") and safe_name(track["track_id"]) in audio
        info = sf.info(str(folder / audio))
        assert info.duration <= 1.01  # previews are cut to --preview-seconds
    # interpolation audio is copied and has a player
    assert re.search(r'<audio controls preload="none" src="audio/interpolate/step_00\.(ogg|wav)"', page)
    # neighbours: players for query and neighbours, and the click-time map for every track
    assert page.count('class="play"') >= 3 * len(tracks)
    assert len(data["neighbors"]) == len(tracks)
    # the probe beside its MFCC baseline
    assert "Latents: accuracy <b>0.90</b>" in page and "baseline: accuracy <b>0.70</b>" in page
    # provenance
    assert "alt5" in page and "meanstd" in page
    manifest = json.loads((folder / "report.json").read_text())
    assert manifest["format"] == "musiclatent-report"
    assert manifest["analyses"] == ["interpolate", "neighbors", "probe", "umap"]


def test_report_escapes_user_strings(tmp_path):
    ws, _ = make_workspace(tmp_path)
    page = build_report(ws, preview_seconds=0.5).read_text()
    assert EVIL_LABEL not in page
    assert "<img" not in page and "onerror=alert(2)>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert html_escaped(EVIL_NAME) in page
    # only the page's own three scripts are closed: the vendor bundle, the data block, report.js
    assert page.lower().count("</script") == 3
    data = _data_blob(page)
    labels = {info["label"] for info in data["tracks"].values()}
    assert EVIL_LABEL in labels  # the JSON still carries the real label, unmangled


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_script_json_cannot_close_the_script():
    text = script_json({"a": "</script><script>alert(1)</script>", "b": "\u2028&"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><script>alert(1)</script>", "b": "\u2028&"}


def test_report_writes_nothing_outside_its_folder(tmp_path):
    ws, _ = make_workspace(tmp_path)
    before = _files(tmp_path)
    index = build_report(ws, preview_seconds=0.5)
    new = _files(tmp_path) - before
    assert new and all(index.parent in p.parents for p in new)
    assert not [p for p in index.parent.parent.iterdir() if p.name.startswith(".report")]  # no staging left
    for audio in (index.parent / "audio").rglob("*"):
        assert audio.resolve().is_relative_to(index.parent.resolve())


def test_missing_analyses_say_how_to_make_them(tmp_path):
    ws, _ = make_workspace(tmp_path, with_neighbors=False)
    page = build_report(ws, preview_seconds=0).read_text()
    assert "musiclatent analyze cluster" in page and "musiclatent analyze neighbors" in page
    assert 'id="sec-cluster" class="missing"' in page
    assert not (ws.report_dir / "audio" / "tracks").exists()  # --preview-seconds 0: no previews


def test_empty_workspace_still_builds(tmp_path):
    from musiclatent.workspace import Workspace

    index = build_report(Workspace.open(tmp_path / "empty"), out=tmp_path / "r")
    page = index.read_text()
    for name in ("umap", "cluster", "neighbors", "interpolate", "probe"):
        assert f"musiclatent analyze {name}" in page


def test_rebuild_replaces_report_but_never_a_foreign_folder(tmp_path):
    ws, _ = make_workspace(tmp_path)
    index = build_report(ws, preview_seconds=0)
    stray = index.parent / "stray.txt"
    stray.write_text("old")
    build_report(ws, preview_seconds=0)
    assert index.is_file() and not stray.exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(ReportError, match="not a musiclatent report"):
        build_report(ws, out=foreign)
    assert (foreign / "thesis.tex").read_text() == "precious"


def test_failed_build_leaves_the_old_report(tmp_path, monkeypatch):
    ws, _ = make_workspace(tmp_path)
    index = build_report(ws, preview_seconds=0)
    before = index.read_text()

    def boom(folder):
        raise OSError("disk on fire")

    monkeypatch.setattr("musiclatent.report.build.write_vendor", boom)
    with pytest.raises(OSError, match="disk on fire"):
        build_report(ws, preview_seconds=0)
    assert index.read_text() == before
    assert sorted(p.name for p in ws.root.iterdir() if p.name.startswith(".")) == []


def test_report_command(tmp_path):
    from musiclatent.cli import cli

    ws, _ = make_workspace(tmp_path)
    out = tmp_path / "elsewhere"
    result = CliRunner().invoke(cli, ["--workspace", str(ws.root), "report", "--out", str(out),
                                      "--preview-seconds", "0.5"])
    assert result.exit_code == 0, result.output
    assert str(out / "index.html") in result.output
    assert (out / "index.html").is_file()
    bad = CliRunner().invoke(cli, ["--workspace", str(ws.root), "report", "--table", str(tmp_path / "no.parquet")])
    assert bad.exit_code == 1 and "no such latent table" in bad.output
