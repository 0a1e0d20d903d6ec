"""The ``tsne`` analysis: a 2-D t-SNE map of the track vectors, coloured by label."""

from __future__ import annotations

from musiclatent.plugin_api import AnalysisError, AnalysisResult, alt


def run(ctx, *, perplexity: float, metric: str) -> AnalysisResult:
    import numpy as np
    from sklearn.manifold import TSNE, trustworthiness
    from sklearn.preprocessing import StandardScaler

    X, tracks = ctx.track_vectors()
    if len(X) < 3:
        raise AnalysisError(f"t-SNE needs at least 3 tracks, the table has {len(X)}")
    Xs = StandardScaler().fit_transform(X)
    used = float(min(perplexity, (len(X) - 1) / 3))
    emb = TSNE(n_components=2, perplexity=used, metric=metric, init="pca", random_state=ctx.seed).fit_transform(Xs)
    trust = float(trustworthiness(Xs, emb, n_neighbors=min(5, len(X) // 2 - 1 or 1), metric=metric))
    table = tracks[["track_id", "path", "label", "split"]].copy()
    table["x"], table["y"] = emb[:, 0].astype(np.float32), emb[:, 1].astype(np.float32)
    a = alt()
    chart = (
        a.Chart(table.fillna({"label": "unknown"}))
        .mark_circle(size=60, opacity=0.8)
        .encode(x=a.X("x:Q", title="t-SNE 1"), y=a.Y("y:Q", title="t-SNE 2"),
                color=a.Color("label:N", title="genre"), tooltip=["track_id", "label", "path"])
        .properties(title={"text": "t-SNE map of the tracks",
                           "subtitle": f"pooling {ctx.pooling}, perplexity {used:g}, {metric}"})
        .interactive()
    )
    notes = [] if used == perplexity else [f"perplexity clipped to {used:g} for {len(X)} tracks"]
    return AnalysisResult(summary={"tracks": len(X), "perplexity": used, "metric": metric,
                                   "trustworthiness": trust},
                          tables={"tsne": table}, charts={"tsne_map": chart}, notes=notes)
