"""Where an export's extra columns come from: the workspace's analysis outputs (UMAP/PCA
coordinates, cluster assignments, neighbours) and the report's track previews.

Every reader returns ``None`` (and the caller notes why) when its source is absent, unreadable
or was made from another latent table than the one exported, so a stale analysis never mixes
into an export silently.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

CLUSTER_COLUMN = re.compile(r"^(kmeans|agglomerative)_k(\d+)$")


def _same_path(a: str | Path | None, b: str | Path | None) -> bool:
    if not a or not b:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def read_analysis_table(analyses_dir: Path | None, name: str, table_name: str, table_path: Path,
                        notes: list[str]):
    """The DataFrame ``table_name`` written by analysis ``name`` from ``table_path``, else ``None``."""
    import pandas as pd

    if analyses_dir is None:
        return None
    folder = Path(analyses_dir) / name
    index_path = folder / "index.json"
    if not index_path.is_file():
        return None
    try:
        index = json.loads(index_path.read_text())
    except (OSError, json.JSONDecodeError):
        notes.append(f"{index_path}: unreadable, {name} outputs not used")
        return None
    if not _same_path((index.get("table") or {}).get("path"), table_path):
        notes.append(f"the {name} analysis was made from another latent table; its outputs are not used "
                     f"(run `musiclatent analyze {name}` on this table)")
        return None
    for out in index.get("outputs", []):
        if out.get("kind") != "table" or out.get("name") != table_name:
            continue
        files = out.get("files", {})
        rel = files.get("parquet") or files.get("csv")
        if not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
            break
        path = folder / rel
        try:
            frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(
                path, dtype={"track_id": str, "neighbor_id": str})
        except (OSError, ValueError) as exc:
            notes.append(f"{path}: unreadable ({type(exc).__name__}), {name} outputs not used")
            return None
        frame.attrs["pooling"] = index.get("pooling")
        return frame
    return None


def coordinates(analyses_dir, table_path, track_ids, notes) -> tuple[np.ndarray, str] | None:
    """``(xy[n, 2] float32, source)`` from the umap analysis, else the pca one, else ``None``."""
    for name, table_name, cols in (("umap", "umap_coordinates", ("x", "y")),
                                   ("pca", "pca_coordinates", ("pc1", "pc2"))):
        frame = read_analysis_table(analyses_dir, name, table_name, table_path, notes)
        if frame is None or not set(cols) <= set(frame.columns):
            continue
        xy = _align(frame, track_ids, list(cols))
        if xy is None:
            notes.append(f"the {name} coordinates do not cover every track; not used")
            continue
        return xy.astype(np.float32), f"{name} analysis (pooling {frame.attrs.get('pooling')})"
    return None


def clusters(analyses_dir, table_path, track_ids, notes) -> tuple[np.ndarray, str] | None:
    """``(cluster id per track, column name)`` from the cluster analysis (k-means first), else ``None``."""
    frame = read_analysis_table(analyses_dir, "cluster", "assignments", table_path, notes)
    if frame is None:
        return None
    cols = sorted((c for c in frame.columns if CLUSTER_COLUMN.match(str(c))),
                  key=lambda c: (not str(c).startswith("kmeans"), str(c)))
    if not cols:
        return None
    values = _align(frame, track_ids, [cols[0]])
    if values is None:
        notes.append("the cluster assignments do not cover every track; not used")
        return None
    return values[:, 0].astype(np.int32), str(cols[0])


def neighbours(analyses_dir, table_path, track_ids, notes) -> tuple[list[list[str]], list[list[float]], str] | None:
    """``(neighbour ids, distances, source)`` per track (rank order) from the neighbors analysis, else ``None``."""
    frame = read_analysis_table(analyses_dir, "neighbors", "neighbors", table_path, notes)
    if frame is None or not {"track_id", "rank", "neighbor_id", "distance"} <= set(frame.columns):
        return None
    frame = frame.sort_values(["track_id", "rank"], kind="stable")
    groups = {tid: g for tid, g in frame.groupby("track_id", sort=False)}
    if any(t not in groups for t in track_ids):
        notes.append("the neighbors analysis does not cover every track; neighbours computed instead")
        return None
    ids = [groups[t]["neighbor_id"].astype(str).tolist() for t in track_ids]
    dist = [groups[t]["distance"].astype(float).tolist() for t in track_ids]
    return ids, dist, f"neighbors analysis (pooling {frame.attrs.get('pooling')})"


def _align(frame, track_ids, cols: list[str]) -> np.ndarray | None:
    if "track_id" not in frame.columns:
        return None
    dedup = frame.drop_duplicates("track_id")
    indexed = dedup.set_index(dedup["track_id"].astype(str))
    if any(t not in indexed.index for t in track_ids):
        return None
    return indexed.loc[list(track_ids), cols].to_numpy()


def report_previews(report_dir: Path | None) -> dict[str, str]:
    """``track_id -> absolute path`` of each preview the report in ``report_dir`` holds."""
    if report_dir is None:
        return {}
    index = Path(report_dir) / "index.html"
    try:
        page = index.read_text(encoding="utf-8")
    except OSError:
        return {}
    match = re.search(r'<script type="application/json" id="ml-data">(.*?)</script>', page, re.S)
    if not match:
        return {}
    try:
        data: dict[str, Any] = json.loads(match.group(1))
    except json.JSONDecodeError:
        return {}
    out: dict[str, str] = {}
    root = Path(report_dir).resolve()
    for tid, info in (data.get("tracks") or {}).items():
        rel = (info or {}).get("audio")
        if not rel:
            continue
        path = (root / rel).resolve()
        if root in path.parents and path.is_file():  # only files inside the report folder
            out[str(tid)] = str(path)
    return out
