"""``neighbors``: the k nearest tracks of every track (and of a query audio file), precision@k."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musiclatent.analyses.base import AnalysisError, AnalysisResult
from musiclatent.analyses.common import label_skip_reason, need_tracks, title, unlabelled_note
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


def run(ctx, *, k: int, metric: str, query: tuple, index: str) -> AnalysisResult:
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
    skip = label_skip_reason(labels, f"precision@{kk}")
    notes.extend([skip] if skip else [note for note in (unlabelled_note(labels),) if note])
    summary = {"n_tracks": n, "k": kk, "metric": metric, "index": used, "index_detail": index_text}
    result = AnalysisResult(summary=summary, tables={"neighbors": table}, notes=notes)
    if not skip:
        table["same_label"] = table["label"] == table["neighbor_label"]
        _precision(ctx, result, labels, idx, kk, metric, index_text)
    if query:
        _search_queries(ctx, result, X, query, kk, metric, ids, labels, paths)
    return result


def _precision(ctx, result: AnalysisResult, labels, idx, kk: int, metric: str, index_text: str) -> None:
    """Precision@k by genre (with chance): the table, the chart and the summary scores."""
    import pandas as pd

    n = len(labels)
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
    result.summary.update(precision_at_k=by_label["overall"], chance_precision=chance)
    result.tables["precision_by_genre"] = prec
    result.charts["precision_at_k"] = bars + rule


def _corpus_row(ctx, resolved: Path, rows: dict[str, int]) -> int | None:
    """The table row of the corpus track that is the file ``resolved`` (None: not in the corpus)."""
    if ctx.corpus_root is None:
        return None
    try:
        rel = resolved.relative_to(Path(ctx.corpus_root).expanduser().resolve()).as_posix()
    except ValueError:
        return None
    return rows.get(rel)


def _search_queries(ctx, result: AnalysisResult, X, query, kk: int, metric: str, ids, labels, paths) -> None:
    """Encode each query file and list its nearest tracks; a query that is itself a corpus
    track (the same file) is left out of its own neighbours."""
    import pandas as pd

    from musiclatent.corpus.errors import AudioReadError, printable

    rows = {str(p): i for i, p in enumerate(paths)}
    qrows = []
    for qpath in query:
        resolved = Path(qpath).expanduser().resolve()
        try:
            vec = ctx.encode_file(resolved)
        except AudioReadError as exc:
            raise AnalysisError(f"query file {printable(qpath)} cannot be used: {exc.reason}") from exc
        own = _corpus_row(ctx, resolved, rows)
        want = kk if own is None else min(kk + 1, len(X))
        qd, qi = nearest(X, vec[None, :], want, metric)
        pairs = [(d, i) for d, i in zip(qd[0], qi[0], strict=True) if i != own][:kk]
        if own is not None:
            result.notes.append(f"query {resolved.name} is the corpus track {ids[own]}: "
                                "it is left out of its own neighbours")
        for rank, (d, i) in enumerate(pairs, start=1):
            qrows.append({"query": resolved.name, "rank": rank, "neighbor_id": ids[i],
                          "neighbor_label": labels[i], "neighbor_path": paths[i], "distance": float(d)})
    qtable = pd.DataFrame(qrows, columns=["query", "rank", "neighbor_id", "neighbor_label", "neighbor_path",
                                          "distance"])
    result.tables["query_neighbors"] = qtable
    names = [Path(q).name for q in query]
    result.summary["queries"] = {q: qtable[qtable["query"] == q]["neighbor_id"].tolist() for q in names}
    result.summary["query_top"] = {q: (qtable[qtable["query"] == q]["neighbor_id"].tolist() or [None])[0]
                                   for q in names}
