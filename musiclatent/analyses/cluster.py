"""``cluster``: k-means and agglomerative clustering over a range of k, scored against the genres."""

from __future__ import annotations

import numpy as np

from musiclatent.analyses.base import AnalysisResult
from musiclatent.analyses.common import (
    UNKNOWN,
    heatmap,
    label_skip_reason,
    need_tracks,
    standardize,
    title,
    track_frame,
    unlabelled_note,
)
from musiclatent.charts import alt
from musiclatent.metrics.retrieval import cluster_scores, contingency

AGGLOMERATIVE_MAX = 10_000  # Ward linkage needs n^2/2 distances (400 MB at 10k): above, k-means only
SILHOUETTE_SAMPLE = 5_000


def run(ctx, *, k_min: int, k_max: int, method: str) -> AnalysisResult:
    """Cluster standardised track vectors for every k in ``[k_min, k_max]`` (clipped to n-1)."""
    import pandas as pd
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.metrics import silhouette_score

    X, tracks = ctx.track_vectors()
    need_tracks(X, 3, "cluster")
    Z = standardize(X)
    labels = ctx.labels()
    n_labels = len(set(labels))
    skip = label_skip_reason(labels, "ARI, NMI, purity and the cluster-by-genre heatmap")
    notes: list[str] = [skip] if skip else [n for n in (unlabelled_note(labels),) if n]
    hi = int(min(k_max, len(Z) - 1))
    lo = int(max(2, min(k_min, hi)))
    if (lo, hi) != (k_min, k_max):
        notes.append(f"k range clipped to {lo}..{hi} (the table has {len(Z)} tracks)")
    k_label = int(min(max(2, n_labels), len(Z) - 1))
    ks = sorted(set(range(lo, hi + 1)) | {k_label})
    methods = ["kmeans", "agglomerative"] if method == "both" else [method]
    if "agglomerative" in methods and len(Z) > AGGLOMERATIVE_MAX:
        methods.remove("agglomerative")
        notes.append(f"agglomerative clustering skipped above {AGGLOMERATIVE_MAX} tracks (memory)")
    rng = np.random.default_rng(ctx.seed)
    sil_idx = rng.choice(len(Z), size=min(len(Z), SILHOUETTE_SAMPLE), replace=False)

    rows, assignments, tree = [], {}, None
    for m in methods:
        for k in ks:
            if m == "kmeans":
                model = MiniBatchKMeans(n_clusters=k, random_state=ctx.seed, n_init=3,
                                        batch_size=min(len(Z), 4096)) if len(Z) > 20_000 else None
                if model is None:
                    from sklearn.cluster import KMeans

                    model = KMeans(n_clusters=k, random_state=ctx.seed, n_init=4)
                assign = model.fit_predict(Z)
                inertia = float(model.inertia_)
            else:
                if tree is None:  # one Ward tree, cut at every k
                    from scipy.cluster.hierarchy import linkage

                    tree = linkage(Z, method="ward")
                from scipy.cluster.hierarchy import fcluster

                assign = fcluster(tree, t=k, criterion="maxclust") - 1
                inertia = _inertia(Z, assign)
            sub = assign[sil_idx]
            sil = float(silhouette_score(Z[sil_idx], sub)) if len(set(sub)) > 1 else float("nan")
            agreement = {} if skip else cluster_scores(labels, assign)
            rows.append({"method": m, "k": k, "inertia": inertia, "silhouette": sil, **agreement})
            assignments[(m, k)] = assign
    scores = pd.DataFrame(rows)

    best = methods[0]
    assign = assignments[(best, k_label)]
    table = contingency(labels, assign)
    genres = sorted(set(labels))
    cont = pd.DataFrame([{"cluster": f"c{c}", "genre": g, "tracks": int(table[c, j])}
                         for c in range(table.shape[0]) for j, g in enumerate(genres)])
    cols = {f"{m}_k{k_label}": assignments[(m, k_label)] for m in methods}
    frame = track_frame(tracks, **cols)

    altair = alt()
    elbow = altair.Chart(scores, title=title(ctx, "Elbow: within-cluster sum of squares")).mark_line(point=True).encode(
        x=altair.X("k:O", title="number of clusters k"),
        y=altair.Y("inertia:Q", title="inertia (standardised units)"),
        color=altair.Color("method:N", title="method"),
        tooltip=["method:N", "k:O", altair.Tooltip("inertia:Q", format=".1f")],
    )
    silhouette = altair.Chart(scores, title=title(ctx, "Silhouette by k")).mark_line(point=True).encode(
        x=altair.X("k:O", title="number of clusters k"),
        y=altair.Y("silhouette:Q", title="silhouette (higher is better)"),
        color=altair.Color("method:N", title="method"),
        tooltip=["method:N", "k:O", altair.Tooltip("silhouette:Q", format=".3f"),
                 *([] if skip else [altair.Tooltip("ari:Q", format=".3f"), altair.Tooltip("nmi:Q", format=".3f")])],
    )
    at_k = scores[scores.k == k_label].set_index("method")
    summary = {"n_tracks": int(len(Z)), "n_labels": n_labels, "k_at_labels": k_label,
               "k_range": [lo, hi], "methods": methods}
    if skip:  # no labels to match: say how many real ones there are, and which k is shown
        summary.update(n_labels=len(set(labels) - {UNKNOWN}), k_shown=summary.pop("k_at_labels"))
    for m in methods:
        for metric in ("silhouette",) if skip else ("ari", "nmi", "purity", "silhouette"):
            summary[f"{m}_{metric}"] = float(at_k.loc[m, metric])
    tables = {"cluster_scores": scores, **({} if skip else {"contingency": cont}), "assignments": frame}
    charts = {"elbow": elbow, "silhouette": silhouette}
    if not skip:
        charts["contingency"] = heatmap(cont, "genre", "cluster", "tracks",
                                        title(ctx, f"Clusters ({best}, k={k_label}) by genre"),
                                        "genre", "cluster", "tracks")
    return AnalysisResult(summary=summary, tables=tables, charts=charts, notes=notes)


def _inertia(Z: np.ndarray, assign: np.ndarray) -> float:
    """Within-cluster sum of squared distances to the cluster means."""
    total = 0.0
    for c in np.unique(assign):
        members = Z[assign == c]
        total += float(((members - members.mean(axis=0)) ** 2).sum())
    return total
