"""``umap``: a 2-D UMAP map of the track vectors (standardised first), coloured by genre.

Large tables are bounded: above ``fit_sample`` tracks (default 20 000) UMAP is fitted on a seeded
random sample of that many tracks and the others are placed by ``transform`` (the table's
``fitted`` column says which were in the fit; the chart title says so too).
"""

from __future__ import annotations

import warnings

import numpy as np

from musiclatent.analyses.base import AnalysisError, AnalysisResult
from musiclatent.analyses.common import (
    genre_scatter,
    need_tracks,
    standardize,
    subsample,
    title,
    track_frame,
)


def fit_rows(n: int, fit_sample: int, seed: int) -> np.ndarray:
    """Sorted row numbers a bounded fit uses: all ``n`` rows, or a seeded sample of ``fit_sample``."""
    if fit_sample < 0 or 0 < fit_sample < 4:
        raise AnalysisError(f"fit_sample must be 0 (every track) or at least 4; got {fit_sample}")
    if not fit_sample or n <= fit_sample:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, int(fit_sample), replace=False))


def run(ctx, *, n_neighbors: int, min_dist: float, metric: str, fit_sample: int) -> AnalysisResult:
    """UMAP of the pooled, standardised track vectors; ``n_neighbors`` is clipped to n-1."""
    X, tracks = ctx.track_vectors()
    need_tracks(X, 4, "umap")
    notes = []
    fit = fit_rows(len(X), int(fit_sample), int(ctx.seed))
    sampled = len(fit) < len(X)
    k = int(min(max(2, n_neighbors), len(fit) - 1))
    if k != n_neighbors:
        notes.append(f"n_neighbors clipped from {n_neighbors} to {k} (the table has {len(X)} tracks)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import umap  # slow import (numba): only when the analysis runs

        reducer = umap.UMAP(n_neighbors=k, min_dist=float(min_dist), metric=metric, n_components=2,
                            random_state=int(ctx.seed), init="spectral" if len(fit) > k + 2 else "random")
        Z = standardize(X)
        coords = np.empty((len(X), 2), dtype=np.float32)
        coords[fit] = reducer.fit_transform(Z[fit])
        if sampled:
            rest = np.setdiff1d(np.arange(len(X)), fit, assume_unique=True)
            coords[rest] = reducer.transform(Z[rest])
    fitted = np.zeros(len(X), dtype=bool)
    fitted[fit] = True
    bound = (f"fitted on {len(fit)} of {len(X)} tracks (random sample, --fit-sample), the rest placed by "
             "transform" if sampled else f"fitted on all {len(X)} tracks")
    if sampled:
        notes.append(f"UMAP was {bound}")
    frame = track_frame(tracks, x=coords[:, 0], y=coords[:, 1], fitted=fitted)
    shown, note = subsample(frame, ctx.seed)
    if note:
        notes.append(note)
    chart = genre_scatter(
        shown, "x", "y",
        title(ctx, "UMAP map of the tracks", f"n_neighbors={k}, min_dist={min_dist}, metric={metric}; {bound}"),
        "UMAP 1", "UMAP 2",
    )
    summary = {"n_tracks": int(len(X)), "dims": int(X.shape[1]), "n_neighbors": k,
               "min_dist": float(min_dist), "metric": metric, "fit_sample": int(fit_sample),
               "fitted_tracks": int(len(fit)), "bound": bound}
    return AnalysisResult(summary=summary, tables={"umap_coordinates": frame},
                          charts={"umap_map": chart}, notes=notes)
