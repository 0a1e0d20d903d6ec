"""A hand-made workspace for the report tests: a few WAV tracks (one with a hostile file name,
one genre with a hostile label) and analysis folders in the runner's format, no model needed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

EVIL_LABEL = "<script>alert(1)</script>"
EVIL_NAME = '"><img src=x onerror=alert(2)>'
RATE = 8000


def _spec_scatter(rows):
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "UMAP map", "width": 400, "height": 300,
        "data": {"values": rows},
        "mark": {"type": "circle", "size": 300},
        "encoding": {
            "x": {"field": "x", "type": "quantitative"},
            "y": {"field": "y", "type": "quantitative"},
            "color": {"field": "label", "type": "nominal"},
            "tooltip": [{"field": "track_id", "type": "nominal"}, {"field": "label", "type": "nominal"}],
        },
    }


def _spec_heatmap(rows):
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "confusion", "data": {"values": rows}, "mark": "rect",
        "encoding": {"x": {"field": "predicted", "type": "nominal"},
                     "y": {"field": "true", "type": "nominal"},
                     "color": {"field": "tracks", "type": "quantitative"}},
    }


def _write_analysis(folder: Path, name: str, charts: dict, tables: dict, audio: dict, summary: dict):
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    outputs = []
    for stem, spec in charts.items():
        (folder / f"{stem}.json").write_text(json.dumps(spec))
        outputs.append({"kind": "chart", "name": stem, "files": {"json": f"{stem}.json"}})
    for stem, rows in tables.items():
        pd.DataFrame(rows).to_csv(folder / f"{stem}.csv", index=False)
        outputs.append({"kind": "table", "name": stem, "files": {"csv": f"{stem}.csv"}})
    for stem, wave in audio.items():
        sf.write(folder / f"{stem}.wav", wave, RATE, subtype="PCM_16")
        outputs.append({"kind": "audio", "name": stem, "files": {"wav": f"{stem}.wav"}})
    index = {"format": "musiclatent-analysis", "analysis": name, "pooling": "meanstd",
             "table": {"path": "latents/fake.parquet", "model": "alt5", "checkpoint_sha256": "ab" * 32},
             "options": {"k": 2}, "summary": summary, "outputs": outputs, "notes": [f"note {EVIL_LABEL}"]}
    (folder / "index.json").write_text(json.dumps(index))


def make_workspace(root: Path, with_neighbors: bool = True):
    """A workspace under ``root`` with 9 tracks in 3 genres and umap/neighbors/probe/interpolate
    folders. Returns ``(Workspace, tracks)`` where ``tracks`` are dicts of track_id/path/label/x/y."""
    from musiclatent.workspace import Workspace

    ws = Workspace.open(root / "ws")
    corpus = root / "corpus"
    genres = ["rock", EVIL_LABEL.replace("/", "_"), "jazz"]
    tracks = []
    t = np.arange(RATE * 2) / RATE
    for gi, genre in enumerate(genres):
        for i in range(3):
            stem = f"{EVIL_NAME}{i}" if (gi == 1 and i == 0) else f"{genre}.{i:05d}"
            rel = f"{genre}/{stem}.wav"
            path = corpus / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, 0.3 * np.sin(2 * np.pi * (220 + 110 * gi + 30 * i) * t), RATE)
            n = len(tracks)
            tracks.append({"track_id": rel[:-4], "path": rel,
                           "label": EVIL_LABEL if gi == 1 else genre,
                           "split": "train", "x": float(n % 3) * 10.0, "y": float(n // 3) * 10.0})
    ws.update(corpus=str(corpus))
    analyses = ws.root / "analyses"
    _write_analysis(analyses / "umap", "umap", {"umap_map": _spec_scatter(tracks)},
                    {"umap_coordinates": tracks}, {}, {"n_tracks": len(tracks)})
    if with_neighbors:
        n = len(tracks)
        rows = [{"track_id": tracks[i]["track_id"], "label": tracks[i]["label"], "rank": r,
                 "neighbor_id": tracks[(i + r) % n]["track_id"], "neighbor_label": tracks[(i + r) % n]["label"],
                 "distance": 0.1 * r} for i in range(n) for r in (1, 2)]
        _write_analysis(analyses / "neighbors", "neighbors", {}, {"neighbors": rows}, {},
                        {"precision_at_k": 0.5})
    labels = sorted({tr["label"] for tr in tracks})
    cm = [{"true": a, "predicted": b, "tracks": int(a == b) * 3} for a in labels for b in labels]
    _write_analysis(analyses / "probe", "probe", {"confusion_matrix": _spec_heatmap(cm)},
                    {"probe_scores": [{"features": "latents", "accuracy": 0.9},
                                      {"features": "MFCC mean+std (baseline)", "accuracy": 0.7}]},
                    {}, {"latent_accuracy": 0.9, "mfcc_accuracy": 0.7})
    _write_analysis(analyses / "interpolate", "interpolate", {}, {},
                    {"step_00": (0.1 * np.sin(2 * np.pi * 330 * t)).astype(np.float32),
                     "centroid_jazz": (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)}, {})
    return ws, tracks
