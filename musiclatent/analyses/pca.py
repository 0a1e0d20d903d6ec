"""``pca``: a 2-D map of the track vectors by principal components, and their explained variance."""

from __future__ import annotations

import numpy as np

from musiclatent.analyses.base import AnalysisResult
from musiclatent.analyses.common import (
    genre_scatter,
    need_tracks,
    standardize,
    subsample,
    title,
    track_frame,
)
from musiclatent.charts import alt


def run(ctx, *, components: int, standardize_features: bool) -> AnalysisResult:
    """PCA of the pooled track vectors: scatter of PC1/PC2, PC1..PC3 table, variance chart."""
    from sklearn.decomposition import PCA

    X, tracks = ctx.track_vectors()
    need_tracks(X, 3, "pca")
    Z = standardize(X) if standardize_features else np.asarray(X, dtype=np.float32)
    n_comp = int(max(1, min(components, Z.shape[0], Z.shape[1])))
    pca = PCA(n_components=n_comp, random_state=ctx.seed, svd_solver="auto").fit(Z)
    coords = pca.transform(Z)
    coords = np.pad(coords, ((0, 0), (0, max(0, 3 - coords.shape[1]))))
    frame = track_frame(tracks, pc1=coords[:, 0], pc2=coords[:, 1], pc3=coords[:, 2])
    ratio = pca.explained_variance_ratio_
    variance = track_variance_frame(ratio)

    notes = []
    shown, note = subsample(frame, ctx.seed)
    if note:
        notes.append(note)
    altair = alt()
    scatter = genre_scatter(
        shown, "pc1", "pc2", title(ctx, "PCA of the track vectors"),
        f"PC1 ({ratio[0]:.1%} of variance)", f"PC2 ({ratio[1] if len(ratio) > 1 else 0:.1%} of variance)",
        extra_tooltip=("pc3",),
    )
    bars = altair.Chart(variance, title=title(ctx, "Explained variance by component")).mark_bar().encode(
        x=altair.X("component:O", title="principal component"),
        y=altair.Y("explained:Q", title="share of variance", axis=altair.Axis(format="%")),
        tooltip=[altair.Tooltip("component:O", title="component"),
                 altair.Tooltip("explained:Q", title="explained", format=".2%"),
                 altair.Tooltip("cumulative:Q", title="cumulative", format=".2%")],
    )
    line = altair.Chart(variance).mark_line(point=True, color="#333").encode(
        x="component:O", y=altair.Y("cumulative:Q", title="share of variance"),
    )
    summary = {
        "n_tracks": int(len(X)), "dims": int(X.shape[1]), "components": n_comp,
        "pc1_explained": float(ratio[0]),
        "pc2_explained": float(ratio[1]) if len(ratio) > 1 else 0.0,
        "cumulative_2": float(ratio[:2].sum()), "cumulative_3": float(ratio[:3].sum()),
        "standardized": bool(standardize_features),
    }
    return AnalysisResult(
        summary=summary,
        tables={"pca_coordinates": frame, "explained_variance": variance},
        charts={"pca_map": scatter, "explained_variance": bars + line},
        notes=notes,
    )


def track_variance_frame(ratio: np.ndarray):
    """``component, explained, cumulative`` for each principal component."""
    import pandas as pd

    return pd.DataFrame({"component": np.arange(1, len(ratio) + 1), "explained": ratio,
                         "cumulative": np.cumsum(ratio)})
