"""Altair helpers: one theme for every chart, offline HTML (vega inlined, no CDN) and PNG/SVG.

Every chart musiclatent writes goes through ``save_chart`` so it looks the same and lands the
same way (atomically, inside the output folder).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from musiclatent.fileio import atomic_path, inside, safe_name

THEME_NAME = "musiclatent"
GENRE_SCHEME = "tableau10"
_registered = False


def _theme() -> dict:
    return {
        "config": {
            "view": {"continuousWidth": 480, "continuousHeight": 320, "stroke": None},
            "font": "DejaVu Sans, Helvetica, Arial, sans-serif",
            "title": {"fontSize": 15, "anchor": "start", "subtitleColor": "#555"},
            "axis": {"labelFontSize": 11, "titleFontSize": 12, "grid": True, "gridColor": "#eee"},
            "legend": {"labelFontSize": 11, "titleFontSize": 12},
            "range": {"category": {"scheme": GENRE_SCHEME}},
            "background": "white",
        }
    }


def alt():
    """Import altair with the musiclatent theme enabled (and no row limit: we pass our own data)."""
    global _registered
    import altair

    if not _registered:
        try:
            altair.theme.register(THEME_NAME, enable=True)(_theme)
        except AttributeError:  # altair < 5.5
            altair.themes.register(THEME_NAME, _theme)
            altair.themes.enable(THEME_NAME)
        altair.data_transformers.disable_max_rows()
        _cache_js_bundle()
        _registered = True
    return altair


def _cache_js_bundle() -> None:
    """Build vl-convert's inlined vega JavaScript bundle once per process, not once per HTML file
    (it takes about 2 s each time; an analysis writes several charts)."""
    import functools

    try:
        import vl_convert
    except ImportError:  # HTML then needs the CDN; altair raises its own clear error
        return
    if not hasattr(vl_convert.javascript_bundle, "cache_info"):
        vl_convert.javascript_bundle = functools.lru_cache(maxsize=8)(vl_convert.javascript_bundle)


class _ScriptSafeEncoder(json.JSONEncoder):
    """JSON whose strings cannot close the HTML ``<script>`` they are inlined in (``<>&`` escaped)."""

    def iterencode(self, o, _one_shot=False):
        for chunk in super().iterencode(o, _one_shot):
            yield chunk.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def save_chart(chart, folder: str | Path, name: str, formats: Iterable[str] = ("html", "png"),
               scale: float = 2.0) -> dict[str, Path]:
    """Write ``chart`` as ``folder/name.{html,png,svg,json}``; returns the paths by format.

    HTML is self-contained: the vega, vega-lite and vega-embed libraries are inlined, so the file
    opens offline. PNG and SVG are rendered by vl-convert (no browser needed).
    """
    alt()  # theme
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = safe_name(name)
    written: dict[str, Path] = {}
    for fmt in formats:
        target = inside(folder, f"{stem}.{fmt}")
        with atomic_path(target) as tmp:
            if fmt == "html":
                # Altair inlines the data as raw JSON in a <script>: a label such as
                # "</script><script>..." would otherwise end the script and run as HTML.
                chart.save(str(tmp), format="html", inline=True, json_kwds={"cls": _ScriptSafeEncoder})
            elif fmt == "png":
                chart.save(str(tmp), format="png", scale_factor=scale)
            elif fmt in ("svg", "json"):
                chart.save(str(tmp), format=fmt)
            else:
                raise ValueError(f"unknown chart format {fmt!r}")
        written[fmt] = target
    return written


def chart_html_fragment(chart, element_id: str) -> str:
    """The chart's vega-lite spec as JSON for embedding in a page that already loads vega-embed."""
    return chart.to_json(indent=None)
