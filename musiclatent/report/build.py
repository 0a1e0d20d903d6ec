"""Build the self-contained HTML report folder from a workspace's analyses.

``build_report(workspace)`` reads ``analyses/*/index.json`` (whatever analyses exist), the latent
table (for provenance and the track list) and the corpus (for track previews), and writes one
folder you open from disk, with no server and no network::

    report/
      index.html            the page (all data embedded; every user string escaped)
      report.js, report.css the page's code and style
      vendor/vega-bundle.js vega + vega-lite + vega-embed (from vl-convert, as altair inlines it)
      audio/tracks/*.ogg    the first seconds of each track (mono OGG Vorbis; WAV fallback)
      audio/<analysis>/*    the analyses' audio (interpolation steps, centroids)
      images/<analysis>/*   charts that only exist as PNG
      tables/<analysis>/*   the analyses' tables as CSV
      report.json           what made the report (table, model, checkpoint, poolings, files)

The folder is built beside the target under a temporary name and swapped in whole, so a reader
never sees a half-built report; an existing folder is replaced only if it is a report.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

from musiclatent import __version__
from musiclatent.errors import MusiclatentError
from musiclatent.fileio import (
    atomic_write_json,
    atomic_write_text,
    foreign_folder,
    inside,
    safe_name,
    staged_naming,
    swap_folder,
)
from musiclatent.locks import held, remove_stale
from musiclatent.report import similar
from musiclatent.report.assets import DEFAULT_PREVIEW_SECONDS, VENDOR_JS, AudioStore, write_vendor
from musiclatent.report.collect import AnalysisOutputs, read_analyses, stale_reason
from musiclatent.report.sections import (
    Planned,
    SectionContext,
    e,
    kv_table,
    placeholder,
    plan_sections,
    script_json,
    section,
)

REPORT_FORMAT = "musiclatent-report"
MARKER = "report.json"
STATIC = ("report.js", "report.css")
DEFAULT_MAX_PREVIEWS = 1000


class ReportError(MusiclatentError):
    """The report cannot be built as asked (the message says what to do)."""


def _static(name: str) -> str:
    return resources.files("musiclatent.report").joinpath(name).read_text(encoding="utf-8")


def _open_table(path: Path | None):
    if path is None:
        return None, {}
    from musiclatent.latents.table import LatentTable

    table = LatentTable.open(path)
    return table, dict(table.metadata)


def _resolve_table(workspace, table: str | os.PathLike | None, analyses: dict[str, AnalysisOutputs]) -> Path | None:
    if table is not None:
        path = Path(table).expanduser().resolve()
        if not path.exists():
            raise ReportError(f"{path}: no such latent table; pass an existing --table or run `musiclatent encode`")
        return path
    if workspace is not None:
        with contextlib.suppress(Exception):
            return workspace.latest_table()
    for out in analyses.values():
        candidate = out.meta.get("table.path")
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


def _corpus_root(workspace, meta: dict[str, Any]) -> Path | None:
    from musiclatent.corpus.paths import CorpusPathError, corpus_root

    for key in ("corpus_root", "corpus"):
        root = meta.get(key)
        if root and Path(root).is_dir():
            try:  # a shared table claiming "/" as its corpus would preview any file: refused
                return corpus_root(root)
            except CorpusPathError:
                continue
    if workspace is not None:
        with contextlib.suppress(Exception):
            root = workspace.corpus()
            if Path(root).is_dir():
                return Path(root)
    return None


def _track_frame(table, analyses: dict[str, AnalysisOutputs]):
    """track_id, path, label for every track: from the table, else from the analyses' tables."""
    import pandas as pd

    if table is not None:
        with contextlib.suppress(Exception):
            return table.tracks()[["track_id", "path", "label"]]
    frames = []
    for out in analyses.values():
        for path in out.tables.values():
            frame = _read_table(path)
            if frame is not None and {"track_id", "path"} <= set(frame.columns):
                cols = [c for c in ("track_id", "path", "label") if c in frame.columns]
                frames.append(frame[cols])
    if not frames:
        return pd.DataFrame(columns=["track_id", "path", "label"])
    return pd.concat(frames).drop_duplicates("track_id")


def _read_table(path: Path):
    import pandas as pd

    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    except Exception:  # noqa: BLE001 - a broken table is left out of the page, not fatal
        return None


def _read_spec(path: Path) -> dict | None:
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return spec if isinstance(spec, dict) else None


def _scatter_spec(frame, method: str) -> dict:
    """A vega-lite map of ``frame`` (track_id, label, path, x, y) when the analysis left no spec;
    ``method`` names the axes and the title (``UMAP``: "UMAP map of the tracks", "UMAP 1")."""
    cols = [c for c in ("track_id", "label", "path", "x", "y") if c in frame.columns]
    values = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict(orient="records")
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": f"{method} map of the tracks", "width": 480, "height": 360,
        "data": {"values": values}, "mark": {"type": "circle", "size": 45, "opacity": 0.8},
        "encoding": {
            "x": {"field": "x", "type": "quantitative", "title": f"{method} 1", "scale": {"zero": False}},
            "y": {"field": "y", "type": "quantitative", "title": f"{method} 2", "scale": {"zero": False}},
            "color": {"field": "label", "type": "nominal", "title": "genre"},
            "tooltip": [{"field": c, "type": "nominal"} for c in ("track_id", "label", "path") if c in cols],
        },
    }




def _readable(folder: Path) -> None:
    """Temporary files are private (0600); a report is for reading: 0755 folders, 0644 files."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(folder, 0o755 & ~mask)
    for path in folder.rglob("*"):
        os.chmod(path, (0o755 if path.is_dir() else 0o644) & ~mask)


def _check_target(out: Path) -> None:
    problem = foreign_folder(out, lambda folder: (folder / MARKER).is_file(), "a musiclatent report")
    if problem:
        raise ReportError(problem)


def build_report(workspace=None, out: str | os.PathLike | None = None, table: str | os.PathLike | None = None,
                 preview_seconds: float = DEFAULT_PREVIEW_SECONDS,
                 max_previews: int = DEFAULT_MAX_PREVIEWS, analyses_dir: str | os.PathLike | None = None,
                 registry=None) -> Path:
    """Build the report folder and return the path of its ``index.html``.

    ``workspace``: a ``musiclatent.workspace.Workspace`` (analyses, latest table, corpus root);
    ``out``: the report folder (default ``workspace.report_dir``); ``table``: the latent table
    whose provenance the page states (default: the workspace's latest); ``preview_seconds``: the
    length of each track preview (0: no previews); ``max_previews``: at most this many tracks get
    a preview (the rest are listed without one); ``analyses_dir``: where the analysis folders are
    (default ``<workspace>/analyses``); ``registry``: whose analyses' report sections shape the
    page (default: every loaded plugin's, ``musiclatent.plugins.get_registry()``).
    """
    if out is None:
        if workspace is None:
            raise ReportError("no output folder: pass --out or a workspace")
        out = workspace.report_dir
    out = Path(out).expanduser().resolve()
    _check_target(out)
    root = Path(analyses_dir) if analyses_dir is not None else (
        workspace.root / "analyses" if workspace is not None else None)
    analyses = read_analyses(root) if root is not None else {}
    if registry is None:
        from musiclatent.plugins import get_registry

        registry = get_registry()
    plan = plan_sections(analyses, registry.analyses)
    table_path = _resolve_table(workspace, table, analyses)
    opened, meta = _open_table(table_path)
    corpus = _corpus_root(workspace, meta)

    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out.parent, f".{out.name}.*.tmp")  # staging folders of killed builds
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        with held(staging), staged_naming(out, staging):  # errors name the report's files, not staging's
            _build_into(staging, analyses, plan, opened, table_path, meta, corpus, preview_seconds,
                        max_previews, workspace_root=getattr(workspace, "root", None))
            _readable(staging)
            swap_folder(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out / "index.html"


def _build_into(folder: Path, analyses: dict[str, AnalysisOutputs], plan: list[Planned], opened,
                table_path: Path | None, meta: dict[str, Any], corpus: Path | None, preview_seconds: float,
                max_previews: int, workspace_root: Path | None = None) -> None:
    store = AudioStore(folder, preview_seconds)
    charts: dict[str, dict] = {}
    copied: dict[tuple[str, str], str] = {}
    tracks = _track_frame(opened, analyses)
    track_info: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    from tqdm import tqdm

    want_previews = preview_seconds > 0 and corpus is not None
    rows = list(tracks.itertuples(index=False))
    for i, row in enumerate(tqdm(rows, desc="report: track previews", unit="track", disable=None,
                                 leave=False) if want_previews else rows):
        track_id = str(row.track_id)
        label = None if getattr(row, "label", None) is None or str(row.label) == "nan" else str(row.label)
        audio = store.track(corpus, track_id, str(row.path)) if want_previews and i < max_previews else None
        track_info[track_id] = {"audio": audio, "label": label, "path": str(row.path)}
    if len(rows) > max_previews and want_previews:
        notes.append(f"previews were made for the first {max_previews} of {len(rows)} tracks (--max-previews)")
    if corpus is None and rows:
        notes.append("the corpus folder is unknown or missing, so tracks have no previews; "
                     "run `musiclatent corpus scan PATH` in this workspace")

    def add_chart(spec: dict) -> str:
        chart_id = f"chart-{len(charts)}"
        charts[chart_id] = spec
        return chart_id

    def add_audio(group: str, stem: str, path: Path) -> str | None:
        return store.add(Path(path), group, stem)

    def track_audio(track_id: str) -> str | None:
        return track_info.get(track_id, {}).get("audio")

    def copy_file(kind: str, group: str, stem: str, path: Path) -> str:
        key = (kind, str(path))
        if key not in copied:
            rel = f"{kind}/{safe_name(group)}/{safe_name(stem)}{Path(path).suffix.lower()}"
            target = inside(folder, *rel.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            copied[key] = rel
        return copied[key]

    sc = SectionContext(
        add_chart=add_chart, add_audio=add_audio, track_audio=track_audio,
        copy_table=lambda g, s, p: copy_file("tables", g, s, p), read_table=_read_table,
        read_spec=_read_spec, add_image=lambda g, s, p: copy_file("images", g, s, p),
    )
    parts: list[str] = []
    names = [p.name for p in plan]
    stale = {n: why for n, o in analyses.items() if (why := stale_reason(o, table_path, meta))}
    for planned in plan:
        out = planned.out
        if out is None:
            parts.append(placeholder(planned.name, planned.title))
            continue
        extra, after = "", ""
        view = planned.report.view if planned.report is not None else ""
        if view == "map":
            if not out.charts:
                coords = out.table("coordinates", out.name)
                frame = _read_table(coords) if coords is not None else None
                if frame is not None and {"x", "y"} <= set(frame.columns):
                    chart_id = add_chart(_scatter_spec(frame, out.name.upper()))
                    extra = f'<figure class="chart"><div id="{chart_id}" class="vega"></div></figure>'
            after = ('<div id="clicked" class="clicked" hidden><h3>Clicked: <span id="clicked-track"></span></h3>'
                      '<ol id="clicked-neighbors" class="nbs"></ol></div>')
        if view == "neighbors":
            after = similar.panel(out, workspace_root, table_path, sc, planned.spec)
        parts.append(section(out, sc, planned.title, planned.report, extra_top=extra, extra_after_charts=after,
                             stale=stale.get(planned.name)))

    poolings = sorted({str(o.meta["pooling"]) for o in analyses.values() if o.meta.get("pooling")})
    provenance = {
        "model": meta.get("model") or next((o.meta.get("model") for o in analyses.values() if o.meta.get("model")), None),
        "latent table": str(table_path) if table_path else "none found",
        "checkpoint": meta.get("checkpoint"),
        "checkpoint sha256": meta.get("checkpoint_sha256"),
        "pooling": ", ".join(poolings) or None,
        "latent shape (C x T')": " x ".join(str(v) for v in meta.get("latent_shape", [])) or None,
        "sample rate": meta.get("sample_rate"),
        "segment samples": meta.get("segment_samples"),
        "tracks": len(track_info) or None,
        "corpus": str(corpus) if corpus else None,
        "table made": meta.get("created"),
        "report made": time.strftime("%Y-%m-%d %H:%M:%S"),
        "musiclatent": __version__,
    }
    provenance = {k: v for k, v in provenance.items() if v not in (None, "")}
    if stale:
        notes.insert(0, f"STALE: {len(stale)} section(s) were not made from the latent table above "
                        f"({', '.join(n for n in names if n in stale)}); they are marked and show old results. Re-run "
                        f"`musiclatent analyze NAME` for each, then `musiclatent report`")
    notes.extend(store.problems[:20])

    nav = "".join(f'<a href="#sec-{e(n)}" class="stale" title="stale: {e(stale[n])}">{e(n)} (stale)</a>'
                  if n in stale else f'<a href="#sec-{e(n)}">{e(n)}</a>' for n in names)
    data = {"charts": charts, "tracks": track_info, "neighbors": sc.neighbors}
    page = _static("template.html")
    note_html = "".join(f"<li>{e(n)}</li>" for n in notes)
    replacements = {
        "provenance": kv_table(provenance, "kv provenance"),
        "notes": f'<ul class="notes">{note_html}</ul>' if note_html else "",
        "nav": nav,
        "sections": "\n".join(parts),
        "vendor": VENDOR_JS,
        "data": script_json(data),
    }
    # one pass over the template only: user text inside a value is never scanned for {{...}}
    page = re.sub(r"\{\{(\w+)\}\}", lambda m: replacements[m.group(1)], page)
    write_vendor(folder)
    for name in STATIC:
        atomic_write_text(inside(folder, name), _static(name))
    atomic_write_json(inside(folder, MARKER), {
        "format": REPORT_FORMAT, "musiclatent_version": __version__, "provenance": provenance,
        "analyses": sorted(analyses), "stale": stale, "audio_bytes": store.bytes_written,
        "preview_seconds": preview_seconds, "notes": notes,
    })
    atomic_write_text(inside(folder, "index.html"), page)
