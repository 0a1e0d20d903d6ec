"""HTML for the report's sections. Every user-supplied string passes ``html.escape``.

A section is built from one analysis folder (see ``collect.AnalysisOutputs``): its provenance,
notes, summary scores, charts (vega-lite specs embedded by ``report.js``), tables (a preview plus
a CSV copy in the folder) and audio players. What a section shows comes from the registered
analysis' ``ReportSection`` (``AnalysisSpec.report``): its title, its place, which outputs, and a
view drawn on top (the neighbours table with players for query and neighbours, the probe's
comparison with the MFCC baseline ...). An analysis whose section is ``always`` shown gets a
placeholder saying how to produce it until it has run. Nothing here names an analysis.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from musiclatent.registry import AnalysisSpec, ReportSection
from musiclatent.report.collect import AnalysisOutputs

UNSECTIONED = 1_000_000  # the place of a folder whose analysis declares no report section (last)
PREVIEW_ROWS = 20
FULL_ROWS = 30
NEIGHBOR_QUERIES = 40


def e(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def script_json(obj: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">``: no ``</script>`` can end it."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, default=str, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def play_button(audio: str | None, track_id: str, label: str | None = None) -> str:
    """A button that plays a track's preview in the shared player (text only when there is none)."""
    text = e(track_id) + (f' <span class="label">{e(label)}</span>' if label else "")
    if not audio:
        return f'<span class="track nopreview" title="no preview">{text}</span>'
    title = f"{track_id} ({label})" if label else track_id
    return (f'<button type="button" class="play" data-audio="{e(audio)}" data-track="{e(track_id)}" '
            f'data-title="{e(title)}">&#9654; {text}</button>')


def kv_table(rows: dict[str, Any], css: str = "kv") -> str:
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(fmt(v))}</td></tr>" for k, v in rows.items())
    return f'<table class="{css}">{body}</table>'


def frame_table(frame, limit: int = PREVIEW_ROWS, columns: int = 12) -> str:
    """An HTML table of the first ``limit`` rows (and ``columns`` columns) of a DataFrame."""
    shown = frame.iloc[:limit, :columns]
    head = "".join(f"<th>{e(c)}</th>" for c in shown.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{e(fmt(v))}</td>" for v in row) + "</tr>"
        for row in shown.itertuples(index=False, name=None)
    )
    more = ""
    if len(frame) > limit or frame.shape[1] > columns:
        more = f'<p class="more">showing {len(shown)} of {len(frame)} rows'
        more += f", {shown.shape[1]} of {frame.shape[1]} columns</p>" if frame.shape[1] > columns else "</p>"
    return f'<div class="tablewrap"><table class="data"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>{more}'


class SectionContext:
    """What section builders share: chart registration, audio, track previews, copied tables."""

    def __init__(self, add_chart: Callable[[dict], str], add_audio: Callable[[str, str, Any], str | None],
                 track_audio: Callable[[str], str | None], copy_table: Callable[[str, str, Any], str],
                 read_table: Callable[[Any], Any], read_spec: Callable[[Any], dict | None],
                 add_image: Callable[[str, str, Any], str]):
        self.add_chart = add_chart
        self.add_audio = add_audio
        self.track_audio = track_audio
        self.copy_table = copy_table
        self.read_table = read_table
        self.read_spec = read_spec
        self.add_image = add_image
        self.neighbors: dict[str, list] = {}


@dataclass(frozen=True)
class Planned:
    """One section of the page: an analysis folder (``out``), or a placeholder (``out`` is None)."""

    name: str  # the folder name: the section's id and its entry in the navigation bar
    title: str
    order: int
    report: ReportSection | None
    out: AnalysisOutputs | None
    spec: AnalysisSpec | None = None  # the registered analysis the section shows, if any


def plan_sections(analyses: Mapping[str, AnalysisOutputs], specs: Mapping[str, AnalysisSpec]) -> list[Planned]:
    """The page's sections in reading order: every analysis folder, plus a placeholder for each
    registered analysis whose report section is ``always`` shown and that has not run.

    A folder takes its section from the analysis its ``index.json`` names (else its own name): the
    view and the outputs shown always, the title and the place only when the folder has the
    analysis' name (``dims-other`` is dims run on another table: the dims view, its own title).
    A folder of an analysis without a report section, or one no longer installed, comes last.
    """
    planned: dict[str, Planned] = {}
    for name, out in analyses.items():
        spec = specs.get(str(out.meta.get("analysis") or name)) or specs.get(name)
        report = spec.report if spec is not None else None
        own = report is not None and spec.name == name
        title = report.title if own else str(out.index.get("description") or name)
        planned[name] = Planned(name, title, report.order if own else UNSECTIONED, report, out, spec)
    for spec in specs.values():
        if spec.report is not None and spec.report.always and spec.name not in planned:
            planned[spec.name] = Planned(spec.name, spec.report.title, spec.report.order, spec.report, None, spec)
    return sorted(planned.values(), key=lambda p: (p.order, p.name))


def how_to(name: str) -> str:
    """The command that (re)makes analysis ``name``."""
    return f"musiclatent analyze {name}"


def placeholder(name: str, title: str) -> str:
    return (f'<section id="sec-{e(name)}" class="missing"><h2>{e(title)}</h2>'
            f'<p>Not computed yet. Produce it with <code>{e(how_to(name))}</code>, '
            f'then run <code>musiclatent report</code> again.</p></section>')


def _pick(items: dict[str, Any], names: tuple[str, ...] | None) -> dict[str, Any]:
    """``items`` restricted to ``names``, in their order (``None``: all, as they are)."""
    return dict(items) if names is None else {n: items[n] for n in names if n in items}


def _provenance(out: AnalysisOutputs) -> str:
    meta = out.meta
    parts = []
    for key, label in (("model", "model"), ("pooling", "pooling"), ("table.path", "table"),
                       ("checkpoint_sha256", "checkpoint sha256"), ("created", "made")):
        if meta.get(key) not in (None, ""):
            value = str(meta[key])
            if key == "checkpoint_sha256":
                value = value[:16]
            parts.append(f"{e(label)}: <code>{e(value)}</code>")
    options = meta.get("options")
    if isinstance(options, dict) and options:
        opts = ", ".join(f"{k}={fmt(v)}" for k, v in options.items() if v not in (None, (), []))
        if opts:
            parts.append(f"options: <code>{e(opts)}</code>")
    return f'<p class="prov">{" · ".join(parts)}</p>' if parts else ""


def _charts(out: AnalysisOutputs, sc: SectionContext, only: tuple[str, ...] | None = None) -> str:
    html_parts = []
    for stem, path in _pick(out.charts, only).items():
        spec = sc.read_spec(path)
        if spec is None:
            continue
        chart_id = sc.add_chart(spec)
        html_parts.append(f'<figure class="chart"><div id="{chart_id}" class="vega" data-name="{e(stem)}"></div></figure>')
    for stem, path in _pick(out.images, only).items():
        if stem in out.charts:
            continue
        src = sc.add_image(out.name, stem, path)
        html_parts.append(f'<figure class="chart"><img src="{e(src)}" alt="{e(stem)}"></figure>')
    return f'<div class="charts">{"".join(html_parts)}</div>' if html_parts else ""


def _tables(out: AnalysisOutputs, sc: SectionContext, skip: tuple[str, ...] = (),
            only: tuple[str, ...] | None = None) -> str:
    """A preview of each table (``only``: these, in this order), a CSV link for the others."""
    parts = []
    shown = _pick(out.tables, only)
    for stem, path in {**shown, **out.tables}.items():
        link = sc.copy_table(out.name, stem, path)
        if stem in skip or stem not in shown:
            parts.append(f'<p class="tablelink">Full table <a href="{e(link)}">{e(stem)}</a>.</p>')
            continue
        frame = sc.read_table(path)
        if frame is None:
            continue
        limit = FULL_ROWS if len(frame) <= FULL_ROWS else PREVIEW_ROWS
        parts.append(f'<h3>{e(stem)} <a class="csv" href="{e(link)}">CSV</a></h3>{frame_table(frame, limit)}')
    return "".join(parts)


def _audio(out: AnalysisOutputs, sc: SectionContext, only: tuple[str, ...] | None = None) -> str:
    items = []
    for stem, path in _pick(out.audio, only).items():
        src = sc.add_audio(out.name, stem, path)
        if src:
            items.append(f'<li><span class="clip">{e(stem)}</span> '
                         f'<audio controls preload="none" src="{e(src)}" data-name="{e(stem)}"></audio></li>')
        else:
            items.append(f'<li><span class="clip">{e(stem)}</span> (unreadable audio)</li>')
    return f'<ul class="clips">{"".join(items)}</ul>' if items else ""


def _metrics(out: AnalysisOutputs) -> str:
    shown = {k: v for k, v in out.metrics.items()
             if v is not None and (not isinstance(v, str) or len(v) < 80)}
    return kv_table(dict(list(shown.items())[:40]), "kv metrics") if shown else ""


def _neighbors_view(out: AnalysisOutputs, sc: SectionContext) -> tuple[str, tuple[str, ...]]:
    """Rows grouped by query track: the query's player, then each neighbour's player and distance."""
    stem = next((s for s, p in out.tables.items() if s == "neighbors"), None) or \
        next((s for s in out.tables if "neighbor" in s.lower() and "query" not in s.lower()), None)
    if stem is None:
        return "", ()
    frame = sc.read_table(out.tables[stem])
    if frame is None or not {"track_id", "neighbor_id"} <= set(frame.columns):
        return "", ()
    rows = []
    has_label = "label" in frame.columns
    groups = list(frame.groupby("track_id", sort=False))
    if has_label:  # list queries genre by genre in turn, so the first rows span every genre
        seen: dict[str, int] = {}
        turn = []
        for _, group in groups:
            key = str(group["label"].iloc[0])
            turn.append(seen.get(key, 0))
            seen[key] = turn[-1] + 1
        groups = [g for _, g in sorted(zip(turn, groups, strict=True), key=lambda pair: pair[0])]
    for query, group in groups:
        group = group.sort_values("rank") if "rank" in group.columns else group
        sc.neighbors[str(query)] = [
            [str(r.neighbor_id), float(r.distance) if "distance" in group.columns else None,
             str(r.neighbor_label) if "neighbor_label" in group.columns else None]
            for r in group.itertuples(index=False)]
        if len(rows) >= NEIGHBOR_QUERIES:
            continue
        label = str(group["label"].iloc[0]) if has_label else None
        cells = []
        for r in group.itertuples(index=False):
            nb_label = str(r.neighbor_label) if "neighbor_label" in group.columns else None
            dist = f'<span class="dist">{float(r.distance):.3g}</span>' if "distance" in group.columns else ""
            same = " same" if has_label and nb_label == label and label != "unknown" else ""
            cells.append(f'<li class="nb{same}">{play_button(sc.track_audio(str(r.neighbor_id)), str(r.neighbor_id), nb_label)} {dist}</li>')
        rows.append(f'<tr><td class="query">{play_button(sc.track_audio(str(query)), str(query), label)}</td>'
                    f'<td><ol class="nbs">{"".join(cells)}</ol></td></tr>')
    n_queries = frame["track_id"].nunique()
    more = (f'<p class="more">showing {len(rows)} of {n_queries} queries; click a point on the UMAP map '
            f'to see any track\'s neighbours, or open the full table.</p>') if n_queries > len(rows) else ""
    view = (f'<h3>Neighbours of each track</h3><div class="tablewrap"><table class="data neighbors">'
            f'<thead><tr><th>query</th><th>nearest tracks (distance; green: same genre)</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{more}')
    return view, (stem,)


def _probe_headline(out: AnalysisOutputs) -> str:
    """Latents beside the MFCC baseline and chance, in one line."""
    m = out.metrics

    def pair(acc: str, f1: str) -> str:
        if not isinstance(m.get(acc), (int, float)):
            return "not computed"
        f1_text = f", macro-F1 {m[f1]:.2f}" if isinstance(m.get(f1), (int, float)) else ""
        return f"accuracy <b>{m[acc]:.2f}</b>{f1_text}"

    if "latent_accuracy" not in m:
        return ""
    chance = f" · chance {m['chance_accuracy']:.2f}" if isinstance(m.get("chance_accuracy"), (int, float)) else ""
    return (f'<p class="headline">Latents: {pair("latent_accuracy", "latent_macro_f1")} · '
            f'MFCC mean+std baseline: {pair("mfcc_accuracy", "mfcc_macro_f1")}{chance}</p>')


def _dims_headline(out: AnalysisOutputs) -> str:
    """How many of the latent channels hold 90/95/99% of the variance, in one line."""
    m = out.metrics
    if not isinstance(m.get("channels"), int):
        return ""
    held = [f"<b>{e(m[f'dims_{p}'])}</b> hold {p}%" for p in (90, 95, 99) if isinstance(m.get(f"dims_{p}"), int)]
    return (f'<p class="headline">Of {e(m["channels"])} latent channels, principal directions: '
            f'{", ".join(held)} of the variance.</p>') if held else ""


def section(out: AnalysisOutputs, sc: SectionContext, title: str, report: ReportSection | None = None,
            extra_top: str = "", extra_after_charts: str = "", stale: str | None = None) -> str:
    """The HTML of one analysis section, as ``report`` asks (``None``: every output, no view);
    ``stale`` (why it no longer matches the report's table) marks it with a warning banner and the
    ``stale`` class."""
    name = out.name
    view = report.view if report is not None else ""
    special, skip_tables = "", ()
    if view == "probe":
        extra_top = _probe_headline(out) + extra_top
    if view == "dims":
        extra_top = _dims_headline(out) + extra_top
    if view == "neighbors":
        special, skip_tables = _neighbors_view(out, sc)
    notes = "".join(f"<li>{e(n)}</li>" for n in out.notes)
    css = ' class="stale"' if stale else ""
    body = [
        f'<section id="sec-{e(name)}"{css}><h2>{e(title)}</h2>',
        (f'<p class="stale-banner"><b>Stale:</b> {e(stale)}. These results do not describe the table '
         f'above; re-run <code>{e(how_to(name))}</code>, then '
         f'<code>musiclatent report</code>.</p>') if stale else "",
        _provenance(out),
        extra_top,
        f'<ul class="notes">{notes}</ul>' if notes else "",
        _metrics(out),
        _charts(out, sc, report.charts if report is not None else None),
        extra_after_charts,
        special,
        _audio(out, sc, report.audio if report is not None else None),
        _tables(out, sc, skip_tables, report.tables if report is not None else None),
        "</section>",
    ]
    return "".join(body)
