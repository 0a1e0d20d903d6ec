"""Approximate nearest neighbours for large tables: a FAISS inverted-file index (IVF-Flat).

``nearest`` (in :mod:`musiclatent.analyses.neighbors`) calls :func:`ann_nearest` when the index
is ``ann`` (or ``auto`` above :data:`EXACT_MAX_ROWS` rows). The vectors are clustered by k-means
into ``nlist`` cells (trained on a seeded sample); each query scans the ``nprobe`` cells nearest
to it, exactly (full vectors, no compression), so distances are exact and only neighbours lying
outside those cells can be missed. Measured recall@10 against the exact search and the choice of
the library (FAISS over pynndescent and hnswlib) are in docs/performance.md.

FAISS is an optional dependency (``pip install "musiclatent[ann]"``, i.e. ``faiss-cpu``).
"""

from __future__ import annotations

import math

import numpy as np

EXACT_MAX_ROWS = 20_000  # ``auto``: exact search up to this many rows, the ANN index above
INDEXES = ("auto", "exact", "ann")
NPROBE = 20              # cells scanned per query (recall/time trade-off, measured at 100k x 256)
CELLS_PER_SQRT = 3.2     # nlist = 3.2 * sqrt(n) cells (1012 at 100k rows)
TRAIN_PER_CELL = 20      # k-means is trained on 20 rows per cell (a seeded sample) ...
KMEANS_ITERATIONS = 10   # ... for 10 iterations (FAISS's 25 cost 20% more time, no recall, at 100k)
INSTALL_HINT = "pip install faiss-cpu (or the extra: pip install \"musiclatent[ann]\")"


def have_faiss() -> bool:
    """Whether the FAISS library imports."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_index(index: str, n_rows: int) -> tuple[str, str | None]:
    """``(exact|ann, note)``: what ``index`` means for a table of ``n_rows`` (``auto``: the size).

    ``ann`` without FAISS is an error; ``auto`` without it falls back to exact with a note.
    """
    from musiclatent.analyses.base import AnalysisError

    if index not in INDEXES:
        raise AnalysisError(f"unknown index {index!r}; use {', '.join(INDEXES)}")
    if index == "exact":
        return "exact", None
    if index == "auto" and n_rows <= EXACT_MAX_ROWS:
        return "exact", None
    if not have_faiss():
        if index == "ann":
            raise AnalysisError(f"--index ann needs the FAISS library: {INSTALL_HINT}")
        return "exact", (f"{n_rows} tracks: the approximate index would be faster, but FAISS is not "
                         f"installed ({INSTALL_HINT}); used the exact search")
    return "ann", None


def ivf_params(n_rows: int, nprobe: int | None = None) -> tuple[int, int]:
    """``(nlist, nprobe)`` for ``n_rows`` vectors."""
    nlist = int(max(1, min(n_rows // 8, round(CELLS_PER_SQRT * math.sqrt(n_rows)))))
    return nlist, int(max(1, min(nlist, nprobe or NPROBE)))


def describe(n_rows: int) -> str:
    """One line naming the index and its parameters (for chart subtitles and summaries)."""
    nlist, nprobe = ivf_params(n_rows)
    return f"FAISS IVF-Flat, nlist={nlist}, nprobe={nprobe}"


def ann_nearest(X: np.ndarray, Q: np.ndarray, k: int, metric: str = "cosine", exclude_self: bool = False,
                seed: int = 0, nprobe: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Like ``nearest``: ``(distances[q, k] float32, indices[q, k] int64)``, approximately.

    Deterministic for a given ``seed`` (the k-means training sample and initialisation). Rows the
    probed cells cannot fill (fewer than ``k`` candidates) are searched exactly instead.
    """
    import faiss

    from musiclatent.analyses.base import AnalysisError

    if metric not in ("cosine", "euclidean"):
        raise AnalysisError(f"unknown metric {metric!r}; use cosine or euclidean")
    X = np.ascontiguousarray(X, dtype=np.float32)
    Q = np.ascontiguousarray(Q, dtype=np.float32)
    n, d = X.shape
    k = int(min(k, n - (1 if exclude_self else 0)))
    if metric == "cosine":
        X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        Q = Q / np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-12)
        kind = faiss.METRIC_INNER_PRODUCT
    else:
        kind = faiss.METRIC_L2
    nlist, probe = ivf_params(n, nprobe)
    coarse = faiss.IndexFlatIP(d) if metric == "cosine" else faiss.IndexFlatL2(d)
    index = faiss.IndexIVFFlat(coarse, d, nlist, kind)
    index.cp.seed = int(seed)
    index.cp.niter = KMEANS_ITERATIONS
    index.cp.min_points_per_centroid = 1  # small training samples are fine, say nothing
    rng = np.random.default_rng(seed)
    sample = X if n <= TRAIN_PER_CELL * nlist else X[np.sort(rng.choice(n, TRAIN_PER_CELL * nlist, replace=False))]
    index.train(sample)
    index.add(X)
    index.nprobe = probe
    want = k + (1 if exclude_self else 0)
    scores, ids = index.search(Q, want)
    if exclude_self:
        scores, ids = _drop_self(scores, ids, k)
    if metric == "cosine":
        dist = 1.0 - scores
    else:
        dist = np.sqrt(np.maximum(scores, 0.0))
    short = np.flatnonzero((ids < 0).any(axis=1))
    if len(short):  # a query whose probed cells hold fewer than k rows: search it exactly
        from musiclatent.analyses.neighbors import nearest

        rows = short if exclude_self else None
        ed, ei = _exact_rows(nearest, X, Q, short, k, metric, rows)
        dist[short], ids[short] = ed, ei
    order = np.lexsort((ids, dist), axis=1)
    ids = np.take_along_axis(ids, order, axis=1).astype(np.int64)
    dist = np.take_along_axis(dist, order, axis=1).astype(np.float32)
    return np.maximum(dist, 0.0), ids


def _drop_self(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove each query's own row (query ``i`` is row ``i``) from ``k + 1`` results; keep ``k``."""
    own = ids == np.arange(len(ids))[:, None]
    keep = ~own
    # where the row itself was not found, drop the last (worst) result instead
    missing = ~own.any(axis=1)
    keep[missing, -1] = False
    return scores[keep].reshape(len(ids), k), ids[keep].reshape(len(ids), k)


def _exact_rows(nearest, X, Q, rows, k, metric, self_rows):
    """Exact neighbours of the queries ``rows``; with ``self_rows`` each is excluded from its result."""
    if self_rows is None:
        return nearest(X, Q[rows], k, metric)
    dist = np.empty((len(rows), k), dtype=np.float32)
    idx = np.empty((len(rows), k), dtype=np.int64)
    for j, row in enumerate(rows):  # rare: a handful of rows at most
        d, i = nearest(X, Q[row:row + 1], k + 1, metric)
        keep = i[0] != row
        dist[j], idx[j] = d[0][keep][:k], i[0][keep][:k]
    return dist, idx
