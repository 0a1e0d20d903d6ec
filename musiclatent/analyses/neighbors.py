"""``neighbors``: the k nearest tracks of every track (and of a query audio file), precision@k."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musiclatent.analyses.common import need_tracks, title
from musiclatent.analysis import AnalysisError, AnalysisResult
from musiclatent.charts import alt
from musiclatent.metrics.retrieval import chance_precision, precision_by_label

DISTANCES_PER_CHUNK = 50_000_000  # query x corpus scores held at once (200 MB of float32)


def nearest(X: np.ndarray, Q: np.ndarray, k: int, metric: str = "cosine",
            exclude_self: bool = False, index: str = "exact", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(distances[q, k], indices[q, k])`` of the ``k`` nearest rows of ``X`` to each row of ``Q``.

    ``index="ann"``: the approximate FAISS index of :mod:`musiclatent.analyses.ann` (same result
    types, deterministic for a ``seed``); ``"exact"`` (the default) is the brute force below.

    Exact brute force in memory-bounded chunks of queries (a matrix product and a top-k in torch,
    several times faster than numpy's argpartition). Cosine: 1 - cosine similarity; euclidean: L2.
    With ``exclude_self`` the query ``i`` is row ``i`` of ``X`` and is never its own neighbour.
    Ties are broken by the lower index.
    """
    import torch

    if metric not in ("cosine", "euclidean"):
        raise AnalysisError(f"unknown metric {metric!r}; use cosine or euclidean")
    if index == "ann":
        from musiclatent.analyses.ann import ann_nearest

        return ann_nearest(X, Q, k, metric, exclude_self=exclude_self, seed=seed)
    if index != "exact":
        raise AnalysisError(f"unknown index {index!r}; use exact or ann")
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    Qt = torch.from_numpy(np.ascontiguousarray(Q, dtype=np.float32))
    if metric == "cosine":
        Xt = Xt / Xt.norm(dim=1, keepdim=True).clamp_min(1e-12)
        Qt = Qt / Qt.norm(dim=1, keepdim=True).clamp_min(1e-12)
    else:
        sq = (Xt.double() ** 2).sum(dim=1).float()
    XT = Xt.T.contiguous()
    k = int(min(k, len(X) - (1 if exclude_self else 0)))
    dist = np.empty((len(Q), k), dtype=np.float32)
    idx = np.empty((len(Q), k), dtype=np.int64)
    chunk = int(max(1, min(4096, DISTANCES_PER_CHUNK // max(1, len(X)))))
    # One pass over each query x corpus block: cosine ranks by similarity (top-k largest);
    # euclidean by |x|^2/2 - q.x (the query's own norm does not change its ranking), one addmm.
    # Distances are computed for the k picked only.
    half_sq = None if metric == "cosine" else (sq / 2.0)[None, :]
    with torch.inference_mode():
        for start in range(0, len(Q), chunk):
            stop = min(start + chunk, len(Q))
            q = Qt[start:stop]
            if metric == "cosine":
                score = q @ XT
                worst = float("-inf")
            else:
                score = torch.addmm(half_sq, q, XT, alpha=-1.0)
                worst = float("inf")
            if exclude_self:
                rows = torch.arange(stop - start)
                score[rows, rows + start] = worst
            vals, ids = torch.topk(score, k, dim=1, largest=metric == "cosine", sorted=False)
            if metric == "cosine":
                vals = 1.0 - vals
            else:
                qsq = (q.double() ** 2).sum(dim=1, keepdim=True).float()
                vals = (qsq + 2.0 * vals).clamp_min(0.0)
            # a stable order of the k picked: by distance, equal distances in index order
            order = np.lexsort((ids.numpy(), vals.numpy()), axis=1)
            idx[start:stop] = np.take_along_axis(ids.numpy(), order, axis=1)
            dist[start:stop] = np.take_along_axis(vals.numpy(), order, axis=1)
    if metric == "euclidean":
        dist = np.sqrt(dist)
    return np.maximum(dist, 0.0), idx


def run(ctx, k: int = 5, metric: str = "cosine", query: tuple = (), index: str = "auto") -> AnalysisResult:
    """Nearest neighbours of every track; ``query`` audio files are encoded and searched too."""
    import pandas as pd

    X, tracks = ctx.track_vectors()
    need_tracks(X, 2, "neighbors")
    notes: list[str] = []
    kk = int(min(max(1, k), len(X) - 1))
    if kk != k:
        notes.append(f"k clipped from {k} to {kk} (the table has {len(X)} tracks)")
    from musiclatent.analyses.ann import describe, resolve_index

    used, index_note = resolve_index(index, len(X))
    if index_note:
        notes.append(index_note)
    dist, idx = nearest(X, X, kk, metric, exclude_self=True, index=used, seed=ctx.seed)
    index_text = describe(len(X)) if used == "ann" else "exact search"
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
                                          f"metric={metric}, chance={chance:.2f}, {index_text}")).mark_bar().encode(
        x=altair.X("genre:N", title="genre", sort=None),
        y=altair.Y("precision:Q", title=f"precision@{kk}", scale=altair.Scale(domain=[0, 1])),
        color=altair.condition(altair.datum.genre == "overall", altair.value("#333"), altair.value("#4c78a8")),
        tooltip=["genre:N", altair.Tooltip("precision:Q", format=".3f"), "tracks:Q"],
    )
    rule = altair.Chart(pd.DataFrame({"chance": [chance]})).mark_rule(strokeDash=[4, 4], color="red").encode(
        y="chance:Q")
    summary = {"n_tracks": n, "k": kk, "metric": metric, "precision_at_k": by_label["overall"],
               "chance_precision": chance, "index": used, "index_detail": index_text}
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
