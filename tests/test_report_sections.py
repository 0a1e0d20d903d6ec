"""The report builds its sections from the registry: any registered analysis that declares a
``ReportSection`` gets its title, place, outputs and placeholder, a third-party one included."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from report_helpers import _spec_scatter, _write_analysis

from musiclatent import plugins
from musiclatent.analyses.runner import run_analysis
from musiclatent.hookspecs import hookimpl
from musiclatent.registry import AnalysisSpec, Option, ReportSection
from musiclatent.report.build import build_report
from musiclatent.testing import write_synthetic_table
from musiclatent.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
TITLE = "Loudness <b>by</b> genre & more"


def _section_ids(page: str) -> list[str]:
    """The analysis sections, in page order (the template's own provenance section left out)."""
    return [n for n in re.findall(r'<section id="sec-([^"]+)"', page) if n != "provenance"]


def _section(page: str, name: str) -> str:
    m = re.search(rf'<section id="sec-{re.escape(name)}"[^>]*>.*?</section>', page, re.S)
    assert m, f"no section {name}"
    return m.group(0)


def loudness(ctx, *, top):
    from musiclatent.plugin_api import AnalysisResult, alt

    X, tracks = ctx.track_vectors()
    frame = tracks[["track_id", "label"]].assign(norm=(X ** 2).sum(axis=1) ** 0.5)
    a = alt()
    chart = a.Chart(frame, title="norms · pooling: meanstd").mark_bar().encode(x="track_id:N", y="norm:Q")
    hidden = a.Chart(frame, title="hidden · pooling: meanstd").mark_point().encode(x="norm:Q")
    return AnalysisResult(summary={"top": top}, charts={"norms_chart": chart, "hidden_chart": hidden},
                          tables={"all_norms": frame, "top": frame.nlargest(top, "norm")})


class LoudnessPlugin:
    @hookimpl
    def register_analyses(self, register):
        register(AnalysisSpec(
            name="loudness", description="Track vector norms", run=loudness,
            options=(Option(name="top", type="int", default=3),),
            report=ReportSection(title=TITLE, order=5, always=True, charts=("norms_chart",), tables=("top",)),
        ))
        register(AnalysisSpec(name="quiet", description="No report section", run=loudness,
                              options=(Option(name="top", type="int", default=3),)))


@pytest.fixture
def third_party():
    plugins.reset()
    plugins.get_plugin_manager(entry_points=False)
    plugins.register_plugin(LoudnessPlugin(), name="loudness-plugin")
    yield plugins.get_registry()
    plugins.reset()


def test_builtins_keep_their_titles_order_and_placeholders(tmp_path):
    plugins.reset()
    try:
        page = build_report(Workspace.open(tmp_path / "ws"), out=tmp_path / "r").read_text()
    finally:
        plugins.reset()
    assert _section_ids(page) == ["umap", "cluster", "neighbors", "interpolate", "probe"]  # the "always" ones
    assert "<h2>UMAP map: click a point to hear the track</h2>" in page
    assert "<h2>Genre probe: how much genre the latents carry</h2>" in page


def test_a_third_party_section_before_and_after_it_runs(tmp_path, third_party):
    ws = Workspace.open(tmp_path / "ws")
    page = build_report(ws, preview_seconds=0).read_text()
    assert _section_ids(page)[:2] == ["loudness", "umap"]  # order 5 comes before the UMAP map's 10
    placeholder = _section(page, "loudness")
    assert 'class="missing"' in placeholder and "musiclatent analyze loudness" in placeholder
    assert "<h2>Loudness &lt;b&gt;by&lt;/b&gt; genre &amp; more</h2>" in placeholder and TITLE not in page
    assert 'href="#sec-loudness"' in page
    assert "quiet" not in _section_ids(page)  # no report section and not run: no placeholder

    table = write_synthetic_table(tmp_path / "t.parquet", n_tracks=8)
    run_analysis("loudness", table=table, workspace=ws, formats=("html",))
    run_analysis("quiet", table=table, workspace=ws, formats=("html",))
    page = build_report(ws, table=table, preview_seconds=0).read_text()
    ids = _section_ids(page)
    assert ids[0] == "loudness" and ids[-1] == "quiet"  # a folder without a section comes last
    shown = _section(page, "loudness")
    assert 'class="missing"' not in shown and "&lt;b&gt;by&lt;/b&gt;" in shown
    assert 'data-name="norms_chart"' in shown and "hidden_chart" not in shown  # only the declared chart
    assert "<h3>top <a" in shown  # the declared table is previewed ...
    assert 'Full table <a href="tables/loudness/all_norms.csv">all_norms</a>' in shown  # ... the other linked
    quiet = _section(page, "quiet")
    assert "<h2>No report section</h2>" in quiet  # its description, every output
    assert 'data-name="norms_chart"' in quiet and 'data-name="hidden_chart"' in quiet


@pytest.mark.parametrize(("section", "why"), [
    (ReportSection(title="x", view="carousel"), "report view 'carousel' is not one of map, neighbors"),
    (ReportSection(title=" "), "a report section needs a title"),
    (ReportSection(title="x", charts="map"), "report charts must be a tuple of output names"),
    ({"title": "x"}, "report must be a ReportSection, not dict"),
])
def test_a_bad_report_section_breaks_only_its_plugin(section, why):
    class Bad:
        @hookimpl
        def register_analyses(self, register):
            register(AnalysisSpec(name="bad", description="d", run=loudness, report=section))

    plugins.reset()
    try:
        plugins.get_plugin_manager(entry_points=False)
        plugins.register_plugin(Bad(), name="bad-plugin")
        registry = plugins.get_registry()
    finally:
        plugins.reset()
    assert why in registry.broken["bad-plugin"]
    assert "bad" not in registry.analyses and "umap" in registry.analyses


def _example_plugin_specs() -> list[AnalysisSpec]:
    """The analyses plugins/musiclatent-vq registers (this checkout's file, installed or not)."""
    path = ROOT / "plugins" / "musiclatent-vq" / "musiclatent_vq" / "__init__.py"
    spec = importlib.util.spec_from_file_location("musiclatent_vq_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: list[AnalysisSpec] = []
    module.register_analyses(found.append)
    return found


def test_the_example_plugins_tsne_is_shown_after_the_umap_map(tmp_path):
    (tsne,) = _example_plugin_specs()
    assert tsne.name == "tsne" and tsne.report is not None
    plugins.reset()
    try:
        registry = plugins.collect(plugins.get_plugin_manager(entry_points=False))
    finally:
        plugins.reset()
    registry.add(tsne)
    ws = Workspace.open(tmp_path / "ws")
    rows = [{"track_id": f"g{i % 2}/t{i}", "path": f"g{i % 2}/t{i}.wav", "label": f"g{i % 2}", "split": "train",
             "x": float(i), "y": float(-i)} for i in range(6)]
    _write_analysis(ws.root / "analyses" / "tsne", "tsne", {"tsne_map": _spec_scatter(rows)},
                    {"tsne": rows}, {}, {"trustworthiness": 0.9})
    page = build_report(ws, preview_seconds=0, registry=registry).read_text()
    assert _section_ids(page)[:3] == ["umap", "tsne", "cluster"]
    shown = _section(page, "tsne")
    assert "<h2>t-SNE map: click a point to hear the track</h2>" in shown
    assert 'data-name="tsne_map"' in shown and "<h3>tsne <a" in shown
