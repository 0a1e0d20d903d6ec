"""The report's "songs like this" panel and the command that queries with a new audio file.

An offline report cannot run the model (no server, no torch in the browser), so a dropped audio
file cannot be encoded in the page. Instead every track's k nearest tracks are precomputed by
``musiclatent analyze neighbors`` and embedded (``data.neighbors``); the panel lets the reader
pick any track and hear its neighbours, and states the exact CLI command that encodes a new file
with the table's model and searches it (docs/report.md says why).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from musiclatent.latents.pooling import DEFAULT_POOLING
from musiclatent.registry import AnalysisSpec
from musiclatent.report.collect import AnalysisOutputs
from musiclatent.report.sections import e, play_button

PICKER_TRACKS = 5000  # track ids offered in the picker's list (any id can still be typed)


def query_command(out: AnalysisOutputs | None, workspace_root: Path | None, table_path: Path | None,
                  spec: AnalysisSpec | None = None) -> str:
    """``musiclatent [-w WS] analyze neighbors [--table T] [options as run] --query YOUR_SONG.wav``.

    The options the section was made with are repeated where they differ from their defaults,
    read from the analysis' spec (``spec``, else the registered one of the name the folder records).
    """
    meta = out.meta if out is not None else {}
    name = spec.name if spec is not None else str(meta.get("analysis") or "neighbors")
    if spec is None:
        from musiclatent.plugins import get_registry

        spec = get_registry().analyses.get(name)
    parts = ["musiclatent"]
    if workspace_root is not None:
        parts += ["-w", str(workspace_root)]
    parts += ["analyze", name]
    table = meta.get("table.path") or (str(table_path) if table_path else None)
    if table:
        parts += ["--table", str(table)]
    pooling = meta.get("pooling")
    if pooling and pooling != DEFAULT_POOLING:
        parts += ["--pooling", str(pooling)]
    options: dict[str, Any] = meta.get("options") if isinstance(meta.get("options"), dict) else {}
    for opt in spec.options if spec is not None else ():
        value = options.get(opt.name.replace("-", "_"))
        if opt.multiple or value in (None, opt.default):  # --query is the one the reader adds
            continue
        flag = "--" + opt.name.replace("_", "-")
        if opt.type == "bool":
            parts.append(flag if value else "--no-" + flag[2:])
        else:
            parts += [flag, str(value)]
    return " ".join(shlex.quote(p) for p in parts) + " --query YOUR_SONG.wav"


def query_results(out: AnalysisOutputs | None, sc) -> str:
    """The nearest tracks of the files queried with ``--query`` (``query_neighbors``), playable."""
    path = out.tables.get("query_neighbors") if out is not None else None
    frame = sc.read_table(path) if path is not None else None
    if frame is None or not {"query", "neighbor_id"} <= set(frame.columns):
        return ""
    items = []
    for query, group in frame.groupby("query", sort=False):
        group = group.sort_values("rank") if "rank" in group.columns else group
        cells = []
        for r in group.itertuples(index=False):
            label = str(r.neighbor_label) if "neighbor_label" in group.columns else None
            dist = f' <span class="dist">{float(r.distance):.3g}</span>' if "distance" in group.columns else ""
            cells.append(f'<li class="nb">{play_button(sc.track_audio(str(r.neighbor_id)), str(r.neighbor_id), label)}{dist}</li>')
        items.append(f'<li><span class="clip">{e(query)}</span><ol class="nbs">{"".join(cells)}</ol></li>')
    return f'<h4>Your queries</h4><ul class="queries">{"".join(items)}</ul>'


def panel(out: AnalysisOutputs | None, workspace_root: Path | None, table_path: Path | None, sc=None,
          spec: AnalysisSpec | None = None) -> str:
    """The panel's HTML (report.js fills it from ``data.neighbors``); every string escaped."""
    command = query_command(out, workspace_root, table_path, spec)
    queried = query_results(out, sc) if sc is not None else ""
    return ('<div id="like" class="like"><h3>Songs like this</h3>'
            '<p><label for="like-input">Pick a track</label> '
            '<input id="like-input" list="like-tracks" autocomplete="off" size="40" '
            'placeholder="type or choose a track id"> '
            f'<datalist id="like-tracks" data-limit="{PICKER_TRACKS}"></datalist> '
            '<span id="like-count" class="more"></span></p>'
            '<div id="like-panel" hidden><h4>Songs like <span id="like-track"></span></h4>'
            '<ol id="like-neighbors" class="nbs"></ol></div>'
            '<p class="query-cmd">Your own audio file: this page cannot run the model, so query it '
            'on the command line (it encodes the file with the table\'s model and writes its nearest '
            'tracks to <code>query_neighbors.csv</code>; run <code>musiclatent report</code> again '
            f'to list them here):</p><pre class="cmd"><code id="query-cmd">{e(command)}</code></pre>{queried}</div>')


__all__ = ["PICKER_TRACKS", "panel", "query_command", "query_results"]
