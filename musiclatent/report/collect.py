"""Read what the analyses wrote (``analyses/<name>/index.json`` and the files it lists).

The report does not re-run anything: it reads each analysis folder as the runner left it. The
reader is tolerant of the index's exact shape: every relative file name it mentions that exists
in the folder is an output, classified by extension (vega-lite ``.json`` specs are charts, ``.csv``
/ ``.parquet`` are tables, ``.wav``/``.ogg``/``.flac`` are audio); scalar values under
``metrics``/``scores``/``summary``-like keys are metrics. A folder without an index is read by
listing its files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musiclatent.fileio import UnsafePathError, inside

AUDIO_EXT = {".wav", ".ogg", ".flac", ".mp3"}
TABLE_EXT = {".csv", ".parquet"}
CHART_EXT = {".json"}
METRIC_KEYS = ("summary", "metrics", "scores")


@dataclass
class AnalysisOutputs:
    """One analysis folder, read: its metadata, metrics and output files by kind."""

    name: str
    folder: Path
    index: dict[str, Any] = field(default_factory=dict)
    charts: dict[str, Path] = field(default_factory=dict)      # stem -> vega-lite spec (.json)
    tables: dict[str, Path] = field(default_factory=dict)      # stem -> .csv/.parquet
    audio: dict[str, Path] = field(default_factory=dict)       # relative path -> file
    images: dict[str, Path] = field(default_factory=dict)      # stem -> .png (fallback)
    metrics: dict[str, Any] = field(default_factory=dict)      # flattened scalar metrics
    meta: dict[str, Any] = field(default_factory=dict)         # table, model, pooling, options
    notes: list[str] = field(default_factory=list)

    def table(self, *words: str) -> Path | None:
        """The first table whose stem contains one of ``words`` (or the only table)."""
        for word in words:
            for stem, path in self.tables.items():
                if word in stem.lower():
                    return path
        return None

    def chart(self, *words: str) -> str | None:
        for word in words:
            for stem in self.charts:
                if word in stem.lower():
                    return stem
        return None


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, (list, tuple)):
        return [s for v in obj for s in _strings(v)]
    return []


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(obj, (bool, int, float, str)) or obj is None:
        out[prefix.rstrip(".")] = obj
    return out


def _is_vegalite(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return False
    return "vega-lite" in head or '"mark"' in head or '"layer"' in head or '"$schema"' in head


def _classify(out: AnalysisOutputs, folder: Path, rel: str, kind: str | None, name: str | None,
              seen: set[Path]) -> None:
    if not isinstance(rel, str) or not rel or len(rel) > 500 or "\n" in rel:
        return
    try:
        path = inside(folder, rel)
    except (UnsafePathError, OSError, ValueError):
        return
    if path in seen or not path.is_file() or path.name == "index.json":
        return
    seen.add(path)
    ext = path.suffix.lower()
    stem = name or str(path.relative_to(folder.resolve()).with_suffix(""))
    if ext in AUDIO_EXT and kind in (None, "audio"):
        out.audio.setdefault(stem, path)
    elif ext in TABLE_EXT and kind in (None, "table"):
        out.tables.setdefault(stem, path)
    elif ext in CHART_EXT and kind in (None, "chart") and _is_vegalite(path):
        out.charts.setdefault(stem, path)
    elif ext == ".png" and kind in (None, "chart"):
        out.images.setdefault(stem, path)


def read_analysis(folder: str | Path, name: str | None = None) -> AnalysisOutputs:
    """Read one analysis folder; files outside it (``..``, links) are ignored."""
    folder = Path(folder)
    out = AnalysisOutputs(name=name or folder.name, folder=folder)
    index_path = folder / "index.json"
    if index_path.is_file():
        try:
            out.index = json.loads(index_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            out.index = {}
        if not isinstance(out.index, dict):
            out.index = {}
    seen: set[Path] = set()
    outputs = out.index.get("outputs")
    if isinstance(outputs, list) and outputs:
        # the runner's format: [{"kind": "chart", "name": ..., "files": {"json": ..., ...}}]
        for entry in outputs:
            if not isinstance(entry, dict):
                continue
            kind, entry_name = entry.get("kind"), entry.get("name")
            files = entry.get("files") or {}
            files = files if isinstance(files, dict) else {}
            order = ["json", "csv", "parquet", "wav", "ogg", "flac", "png"]
            for fmt in sorted(files, key=lambda f: order.index(f) if f in order else 99):
                _classify(out, folder, files[fmt], kind, str(entry_name) if entry_name else None,
                          seen)
    else:
        for rel in _strings(out.index.get("outputs", out.index)) or [
                str(p.relative_to(folder)) for p in sorted(folder.rglob("*")) if p.is_file()]:
            _classify(out, folder, rel, None, None, seen)
    for key in METRIC_KEYS:
        if isinstance(out.index.get(key), dict):
            out.metrics.update(_flatten(out.index[key]))
    out.notes = [str(n) for n in out.index.get("notes", []) if isinstance(n, (str, int, float))] \
        if isinstance(out.index.get("notes"), list) else []
    table = out.index.get("table")
    if isinstance(table, dict):
        out.meta.update({f"table.{k}" if k == "path" else k: v for k, v in table.items()
                         if isinstance(v, (str, int, float, bool, list))})
    elif isinstance(table, str):
        out.meta["table.path"] = table
    for key in ("analysis", "pooling", "seed", "musiclatent_version", "created", "distribution"):
        if isinstance(out.index.get(key), (str, int, float)):
            out.meta[key] = out.index[key]
    if isinstance(out.index.get("options"), dict):
        out.meta["options"] = out.index["options"]
    return out


def _short(value: Any) -> str:
    text = str(value)
    return text[:12] if len(text) == 64 else text


def stale_reason(out: AnalysisOutputs, table_path: Path | None, meta: dict[str, Any]) -> str | None:
    """Why ``out`` does not describe the report's latent table (one sentence), or ``None``.

    Compared with what the analysis' ``index.json`` recorded about its table: the path, the
    checkpoint sha256 and the table's creation time (set when the table is encoded). A field is
    only compared when both sides know it; without a report table nothing is stale.
    """
    if table_path is None:
        return None
    recorded = out.meta.get("table.path")
    if recorded and Path(str(recorded)).expanduser().resolve() != Path(table_path).resolve():
        return f"made from another latent table ({recorded})"
    for key, what in (("checkpoint_sha256", "checkpoint sha256"), ("created", "table made")):
        then = (out.index.get("table") or {}).get(key) if isinstance(out.index.get("table"), dict) else None
        now = meta.get(key)
        if then not in (None, "") and now not in (None, "") and str(then) != str(now):
            return (f"made from an older version of the table ({what} {_short(then)}; "
                    f"the table now has {_short(now)})")
    return None


def read_analyses(root: str | Path) -> dict[str, AnalysisOutputs]:
    """Every analysis folder under ``root`` (``analyses/``), by name; empty when none ran."""
    root = Path(root)
    if not root.is_dir():
        return {}
    return {p.name: read_analysis(p) for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(".")}
