"""``umap``: a 2-D UMAP map of the track vectors (standardised first), coloured by genre."""

from __future__ import annotations

import warnings

import numpy as np

from musiclatent.analyses.common import (
    genre_scatter,
    need_tracks,
    standardize,
    subsample,
    title,
    track_frame,
)
from musiclatent.analysis import AnalysisResult


def run(ctx, n_neighbors: int = 15, min_dist: float = 0.1, metric: str = "euclidean") -> AnalysisResult:
    """UMAP of the pooled, standardised track vectors; ``n_neighbors`` is clipped to n-1."""
    X, tracks = ctx.track_vectors()
    need_tracks(X, 4, "umap")
    notes = []
    k = int(min(max(2, n_neighbors), len(X) - 1))
    if k != n_neighbors:
        notes.append(f"n_neighbors clipped from {n_neighbors} to {k} (the table has {len(X)} tracks)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import umap  # slow import (numba): only when the analysis runs

        reducer = umap.UMAP(n_neighbors=k, min_dist=float(min_dist), metric=metric, n_components=2,
                            random_state=int(ctx.seed), init="spectral" if len(X) > k + 2 else "random")
        coords = reducer.fit_transform(standardize(X))
    coords = np.asarray(coords, dtype=np.float32)
    frame = track_frame(tracks, x=coords[:, 0], y=coords[:, 1])
    shown, note = subsample(frame, ctx.seed)
    if note:
        notes.append(note)
    chart = genre_scatter(
        shown, "x", "y",
        title(ctx, "UMAP map of the tracks", f"n_neighbors={k}, min_dist={min_dist}, metric={metric}"),
        "UMAP 1", "UMAP 2",
    )
    summary = {"n_tracks": int(len(X)), "dims": int(X.shape[1]), "n_neighbors": k,
               "min_dist": float(min_dist), "metric": metric}
    return AnalysisResult(summary=summary, tables={"umap_coordinates": frame},
                          charts={"umap_map": chart}, notes=notes)
