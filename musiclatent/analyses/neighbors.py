"""``neighbors``: the k nearest tracks of every track (and of a query audio file), precision@k."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musiclatent.analyses.common import need_tracks, title
from musiclatent.analysis import AnalysisError, AnalysisResult
from musiclatent.charts import alt
from musiclatent.metrics.retrieval import chance_precision, precision_by_label

DISTANCES_PER_CHUNK = 20_000_000  # query x corpus distances held at once (80 MB of float32)


def nearest(X: np.ndarray, Q: np.ndarray, k: int, metric: str = "cosine",
            exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(distances[q, k], indices[q, k])`` of the ``k`` nearest rows of ``X`` to each row of ``Q``.

    Brute force in chunks of queries (cosine: 1 - cosine similarity; euclidean: L2 distance).
    With ``exclude_self`` the query ``i`` is row ``i`` of ``X`` and is never its own neighbour.
    """
    X = np.asarray(X, dtype=np.float32)
    Q = np.asarray(Q, dtype=np.float32)
    if metric == "cosine":
        Xn = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        Qn = Q / np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-12)
    elif metric == "euclidean":
        sq = (X.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)
    else:
        raise AnalysisError(f"unknown metric {metric!r}; use cosine or euclidean")
    k = int(min(k, len(X) - (1 if exclude_self else 0)))
    dist = np.empty((len(Q), k), dtype=np.float32)
    idx = np.empty((len(Q), k), dtype=np.int64)
    chunk = int(max(1, min(4096, DISTANCES_PER_CHUNK // max(1, len(X)))))
    for start in range(0, len(Q), chunk):
        stop = min(start + chunk, len(Q))
        if metric == "cosine":
            d = 1.0 - Qn[start:stop] @ Xn.T
        else:
            q = Q[start:stop]
            d = np.maximum((q.astype(np.float64) ** 2).sum(axis=1)[:, None].astype(np.float32)
                           - 2.0 * (q @ X.T) + sq[None, :], 0.0)
        if exclude_self:
            d[np.arange(stop - start), np.arange(start, stop)] = np.inf
        part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else np.tile(np.arange(d.shape[1]), (len(d), 1))
        pd_ = np.take_along_axis(d, part, axis=1)
        order = np.argsort(pd_, axis=1, kind="stable")
        idx[start:stop] = np.take_along_axis(part, order, axis=1)
        dist[start:stop] = np.take_along_axis(pd_, order, axis=1)
    if metric == "euclidean":
        dist = np.sqrt(dist)
    return np.maximum(dist, 0.0), idx


def run(ctx, k: int = 5, metric: str = "cosine", query: tuple = ()) -> AnalysisResult:
    """Nearest neighbours of every track; ``query`` audio files are encoded and searched too."""
    import pandas as pd

    X, tracks = ctx.track_vectors()
    need_tracks(X, 2, "neighbors")
    notes: list[str] = []
    kk = int(min(max(1, k), len(X) - 1))
    if kk != k:
        notes.append(f"k clipped from {k} to {kk} (the table has {len(X)} tracks)")
    dist, idx = nearest(X, X, kk, metric, exclude_self=True)
    labels = ctx.labels()
    ids = tracks["track_id"].astype(str).to_numpy()
    paths = tracks["path"].astype(str).to_numpy()
    n = len(X)
    table = pd.DataFrame({
        "track_id": np.repeat(ids, kk), "label": np.repeat(labels, kk),
        "rank": np.tile(np.arange(1, kk + 1), n),
        "neighbor_id": ids[idx.ravel()], "neighbor_label": labels[idx.ravel()],
        "neighbor_path": paths[idx.ravel()], "distance": dist.ravel(),
    })
    table["same_label"] = table["label"] == table["neighbor_label"]
    by_label = precision_by_label(labels, idx, kk)
    chance = chance_precision(labels)
    prec = pd.DataFrame([{"genre": g, "precision": v, "tracks": int((labels == g).sum()) if g != "overall" else n}
                         for g, v in by_label.items()])
    altair = alt()
    bars = altair.Chart(prec, title=title(ctx, f"Precision@{kk}: neighbours sharing the genre",
                                          f"metric={metric}, chance={chance:.2f}")).mark_bar().encode(
        x=altair.X("genre:N", title="genre", sort=None),
        y=altair.Y("precision:Q", title=f"precision@{kk}", scale=altair.Scale(domain=[0, 1])),
        color=altair.condition(altair.datum.genre == "overall", altair.value("#333"), altair.value("#4c78a8")),
        tooltip=["genre:N", altair.Tooltip("precision:Q", format=".3f"), "tracks:Q"],
    )
    rule = altair.Chart(pd.DataFrame({"chance": [chance]})).mark_rule(strokeDash=[4, 4], color="red").encode(
        y="chance:Q")
    summary = {"n_tracks": n, "k": kk, "metric": metric, "precision_at_k": by_label["overall"],
               "chance_precision": chance}
    result = AnalysisResult(summary=summary, tables={"neighbors": table, "precision_by_genre": prec},
                            charts={"precision_at_k": bars + rule}, notes=notes)
    if query:
        qrows = []
        for qpath in query:
            vec = ctx.encode_file(Path(qpath))
            qd, qi = nearest(X, vec[None, :], kk, metric)
            for rank, (d, i) in enumerate(zip(qd[0], qi[0], strict=False), start=1):
                qrows.append({"query": Path(qpath).name, "rank": rank, "neighbor_id": ids[i],
                              "neighbor_label": labels[i], "neighbor_path": paths[i], "distance": float(d)})
        qtable = pd.DataFrame(qrows)
        result.tables["query_neighbors"] = qtable
        result.summary["queries"] = {Path(q).name: qtable[qtable["query"] == Path(q).name]["neighbor_id"].tolist()
                                     for q in query}
        result.summary["query_top"] = {Path(q).name: qtable[qtable["query"] == Path(q).name]["neighbor_id"].iloc[0]
                                       for q in query}
    return result
