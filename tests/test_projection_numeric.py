"""pca and umap checked by their numbers, not only by the files they write: tables of latents with a
known structure, analysed through the runner as a user would (``run_analysis``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from musiclatent.analyses.runner import run_analysis
from musiclatent.latents.table import LatentTableWriter


def _table(path, vectors: np.ndarray, labels: list[str]):
    """One segment per track, latent ``[D, 1]``: with ``pooling="mean"`` the track vector is the row."""
    n, d = vectors.shape
    meta = {"model": "synthetic", "sample_rate": 8000, "segment_samples": 8000, "latent_shape": [d, 1]}
    with LatentTableWriter(path, meta, resume=False) as writer:
        for i in range(n):
            tid = f"{labels[i]}/t{i:04d}"
            writer.write({"track_id": [tid], "path": [f"{tid}.wav"], "label": [labels[i]], "split": ["train"],
                          "segment": [0], "start_s": [0.0], "duration_s": [1.0]},
                         vectors[i][None, :, None].astype(np.float32))
    return path


def _coords(out, name):
    frame = pd.read_csv(out / f"{name}.csv")
    frame["n"] = frame["track_id"].str.slice(-4).astype(int)
    return frame.sort_values("n").reset_index(drop=True)


def test_pca_recovers_known_variances_and_the_leading_direction(tmp_path):
    rng = np.random.default_rng(0)
    n, scales = 600, np.array([3.0, 2.0, 1.0, 0.5, 0.25, 0.1])
    latent = rng.standard_normal((n, len(scales))) * scales
    rotation, _ = np.linalg.qr(rng.standard_normal((len(scales), len(scales))))
    X = latent @ rotation.T                      # principal axes = the rotation's columns
    table = _table(tmp_path / "t.parquet", X, ["a"] * n)
    out = run_analysis("pca", table=table, out_dir=tmp_path / "pca", pooling="mean", formats=("html",),
                       standardize_features=False)
    variance = pd.read_csv(out / "explained_variance.csv")
    expected = scales ** 2 / (scales ** 2).sum()
    np.testing.assert_allclose(variance["explained"].to_numpy()[:3], expected[:3], atol=0.03)
    np.testing.assert_allclose(variance["cumulative"].iloc[-1], 1.0, atol=1e-6)
    coords = _coords(out, "pca_coordinates")
    truth = X @ rotation[:, 0]                     # the projection on the true first axis
    assert abs(np.corrcoef(coords["pc1"], truth)[0, 1]) > 0.99
    summary = json.loads((out / "index.json").read_text())["summary"]
    assert summary["pc1_explained"] == pytest.approx(expected[0], abs=0.03)


def test_umap_keeps_two_separated_blobs_apart_and_neighbourhoods_trustworthy(tmp_path):
    from sklearn.manifold import trustworthiness
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(1)
    n, d = 120, 16
    centres = np.zeros((2, d))
    centres[1] = 3.0                               # apart in every dimension (the analysis standardises)
    labels = ["left"] * (n // 2) + ["right"] * (n // 2)
    X = np.stack([centres[0 if lab == "left" else 1] for lab in labels]) + rng.standard_normal((n, d))
    table = _table(tmp_path / "t.parquet", X, labels)
    out = run_analysis("umap", table=table, out_dir=tmp_path / "umap", pooling="mean", formats=("html",))
    coords = _coords(out, "umap_coordinates")
    xy = coords[["x", "y"]].to_numpy()
    assert xy.shape == (n, 2) and np.isfinite(xy).all()
    assert silhouette_score(xy, labels) > 0.5      # the blobs stay apart in the map
    assert trustworthiness(X, xy, n_neighbors=10) > 0.8
    summary = json.loads((out / "index.json").read_text())["summary"]
    assert summary["n_tracks"] == n and summary["dims"] == d
