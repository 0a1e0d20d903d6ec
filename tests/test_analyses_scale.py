"""Analyses at scale: the approximate neighbour index, ``dims``, and the bounded UMAP / probe fits."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from musiclatent.analyses import AnalysisError


def _clustered(n=3000, d=32, clusters=20, seed=0):
    """Vectors near a 6-dim manifold per cluster: the structure learned latents have."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(clusters, 6))
    z = centers[np.arange(n) % clusters] + rng.normal(0, 1, size=(n, 6))
    w = rng.normal(size=(6, d)) / 2
    return (np.tanh(z @ w) + rng.normal(0, 0.05, size=(n, d))).astype(np.float32)


def _recall(approx, exact):
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(approx, exact, strict=True)]))


def _write_table(path, latents, labels=None, **meta):
    """A table of ``latents[n_tracks, C, T']``, one segment per track."""
    from musiclatent.latents.table import LatentTableWriter
    from musiclatent.testing import TINY_RATE, TINY_SEGMENT, segment_rows

    n, c, t = latents.shape
    labels = labels if labels is not None else [f"g{i % 4}" for i in range(n)]
    info = {"model": "subspace", "sample_rate": TINY_RATE, "segment_samples": TINY_SEGMENT,
            "latent_shape": [c, t], **meta}
    with LatentTableWriter(path, info, resume=False) as writer:
        for i in range(n):
            writer.write(segment_rows(f"t{i:05d}", f"t{i:05d}.wav", labels[i], "train", 1), latents[i:i + 1])
    return path


# ---------------------------------------------------------------------------- approximate index
@pytest.fixture
def faiss():
    """FAISS is an optional dependency, installed by the dev extra: under CI it must be there."""
    try:
        import faiss
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("faiss-cpu is missing under CI: the dev extra installs it")
        pytest.skip("the ANN index needs faiss-cpu (pip install -e '.[dev]')")
    return faiss


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_ann_recall_types_and_determinism(metric, faiss):
    from musiclatent.analyses.ann import ann_nearest
    from musiclatent.analyses.neighbors import nearest

    X = _clustered()
    ed, ei = nearest(X, X, 10, metric, exclude_self=True)
    ad, ai = nearest(X, X, 10, metric, exclude_self=True, index="ann", seed=3)
    assert ad.dtype == ed.dtype == np.float32 and ai.dtype == ei.dtype == np.int64
    assert ad.shape == ai.shape == ed.shape
    assert _recall(ai, ei) >= 0.95
    assert not (ai == np.arange(len(X))[:, None]).any(), "a track is never its own neighbour"
    assert (np.diff(ad, axis=1) >= 0).all(), "neighbours come nearest first"
    # the distances returned are the true distances of the pairs returned
    a, b = X[np.arange(len(X))[:, None]], X[ai]
    if metric == "cosine":
        true = 1 - (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    else:
        true = np.linalg.norm(a - b, axis=-1)
    np.testing.assert_allclose(ad, true, atol=1e-3)
    again_d, again_i = ann_nearest(X, X, 10, metric, exclude_self=True, seed=3)
    np.testing.assert_array_equal(again_i, ai)
    np.testing.assert_array_equal(again_d, ad)


def test_ann_tiny_table_falls_back_per_row(faiss):
    """Cells too small to hold k rows: those queries are searched exactly, nothing is -1."""
    from musiclatent.analyses.neighbors import nearest

    X = _clustered(n=40, d=8, clusters=4)
    ad, ai = nearest(X, X, 30, "euclidean", exclude_self=True, index="ann")
    ed, ei = nearest(X, X, 30, "euclidean", exclude_self=True)
    assert (ai >= 0).all()
    assert _recall(ai, ei) >= 0.9


def test_neighbors_analysis_uses_the_index(tmp_path, faiss):
    from musiclatent.analyses.runner import run_analysis
    from musiclatent.testing import write_synthetic_table

    table = write_synthetic_table(tmp_path / "t.parquet", n_tracks=60)
    out = run_analysis("neighbors", table=table, out_dir=tmp_path / "nb", formats=("html",), index="ann")
    summary = json.loads((out / "index.json").read_text())["summary"]
    assert summary["index"] == "ann" and "IVF" in summary["index_detail"]
    assert summary["precision_at_k"] > 0.9  # the synthetic labels are well separated
    out = run_analysis("neighbors", table=table, out_dir=tmp_path / "nb2", formats=("html",))
    assert json.loads((out / "index.json").read_text())["summary"]["index"] == "exact"  # auto, small


def test_index_choice_and_missing_faiss(monkeypatch):
    from musiclatent.analyses import ann

    monkeypatch.setattr(ann, "have_faiss", lambda: True)
    assert ann.resolve_index("auto", ann.EXACT_MAX_ROWS) == ("exact", None)
    assert ann.resolve_index("auto", ann.EXACT_MAX_ROWS + 1) == ("ann", None)
    assert ann.resolve_index("exact", 10**6) == ("exact", None)
    with pytest.raises(AnalysisError, match="unknown index"):
        ann.resolve_index("hnsw", 10)
    monkeypatch.setattr(ann, "have_faiss", lambda: False)
    with pytest.raises(AnalysisError, match="faiss-cpu"):
        ann.resolve_index("ann", 10)
    used, note = ann.resolve_index("auto", ann.EXACT_MAX_ROWS + 1)
    assert used == "exact" and "faiss-cpu" in note


# ---------------------------------------------------------------------------- dims
def test_dims_counts_a_known_subspace(tmp_path):
    """Latent frames in a 3-dim subspace of 8 channels (plus 1e-3 noise): 3 dims hold 99%."""
    from musiclatent.analyses.runner import run_analysis

    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(8, 3)))[0]                  # 8 x 3, orthonormal
    z = rng.normal(size=(200, 3, 6)) * np.array([3.0, 2.0, 1.0])[None, :, None]
    lat = np.einsum("ck,nkt->nct", basis, z) + 5.0 + rng.normal(0, 1e-3, size=(200, 8, 6))
    table = _write_table(tmp_path / "s.parquet", lat.astype(np.float32))
    out = run_analysis("dims", table=table, out_dir=tmp_path / "dims", formats=("html",))
    index = json.loads((out / "index.json").read_text())
    s = index["summary"]
    assert (s["channels"], s["frames"]) == (8, 1200)
    assert s["dims_99"] == 3 and s["dims_95"] <= 3 and s["dims_90"] <= 3
    assert s["dims_95"] >= 2  # variances 9 : 4 : 1, so two directions hold 92.9%
    import pandas as pd

    frames = lat.transpose(0, 2, 1).reshape(-1, 8)
    channels = pd.read_csv(out / "channel_variance.csv")
    np.testing.assert_allclose(channels["variance"], frames.var(axis=0, ddof=1), rtol=1e-4)
    np.testing.assert_allclose(channels["mean"], frames.mean(axis=0), rtol=1e-5)
    curve = pd.read_csv(out / "explained_variance.csv")
    np.testing.assert_allclose(curve["explained"][:3], np.array([9, 4, 1]) / 14, atol=0.03)
    assert curve["cumulative"].iloc[-1] == pytest.approx(1.0)
    assert {o["name"] for o in index["outputs"] if o["kind"] == "chart"} == {"explained_variance", "channel_variance"}
    assert "dimensions for 90%" in (out / "explained_variance.json").read_text()


def test_dims_of_constant_latents(tmp_path):
    from musiclatent.analyses.runner import run_analysis

    table = _write_table(tmp_path / "c.parquet", np.ones((5, 4, 3), dtype=np.float32))
    out = run_analysis("dims", table=table, out_dir=tmp_path / "dims", formats=("html",))
    index = json.loads((out / "index.json").read_text())
    assert index["summary"]["dims_99"] == 0
    assert any("constant" in n for n in index["notes"])


# ---------------------------------------------------------------------------- bounded fits
def test_umap_fit_sample_transforms_the_rest(tmp_path):
    import pandas as pd

    from musiclatent.analyses.runner import run_analysis
    from musiclatent.testing import write_synthetic_table

    table = write_synthetic_table(tmp_path / "t.parquet", n_tracks=80)
    out = run_analysis("umap", table=table, out_dir=tmp_path / "u", formats=("html",), fit_sample=40,
                       n_neighbors=8)
    index = json.loads((out / "index.json").read_text())
    coords = pd.read_csv(out / "umap_coordinates.csv")
    assert len(coords) == 80 and int(coords["fitted"].sum()) == 40
    assert np.isfinite(coords[["x", "y"]].to_numpy()).all()
    assert index["summary"]["fitted_tracks"] == 40
    assert "fitted on 40 of 80 tracks" in (out / "umap_map.json").read_text()
    assert any("40 of 80" in n for n in index["notes"])
    # the transformed tracks land near their genre: nearest fitted point shares the label, mostly
    fit, rest = coords[coords["fitted"]], coords[~coords["fitted"]]
    d = np.linalg.norm(rest[["x", "y"]].to_numpy()[:, None] - fit[["x", "y"]].to_numpy()[None], axis=-1)
    assert (fit["label"].to_numpy()[d.argmin(axis=1)] == rest["label"].to_numpy()).mean() > 0.8


def test_probe_fit_sample_is_stratified(tmp_path):
    import pandas as pd

    from musiclatent.analyses.runner import run_analysis
    from musiclatent.testing import write_synthetic_table

    table = write_synthetic_table(tmp_path / "t.parquet", n_tracks=200)
    out = run_analysis("probe", table=table, out_dir=tmp_path / "p", formats=("html",), baseline=False,
                       fit_sample=40)
    index = json.loads((out / "index.json").read_text())
    assert index["summary"]["n_tracks"] == 200 and index["summary"]["n_fitted"] == 40
    assert "40 of 200" in index["summary"]["bound"]
    cm = pd.read_csv(out / "confusion_matrix.csv")
    assert sorted(cm.groupby("true")["tracks"].sum()) == [10, 10, 10, 10]  # stratified by genre
    assert "40 of 200" in (out / "confusion_matrix.json").read_text()
    with pytest.raises(AnalysisError, match="fit_sample"):
        run_analysis("probe", table=table, out_dir=tmp_path / "p2", baseline=False, fit_sample=2)
