"""Clustering and retrieval scores against labels: ARI, NMI, purity, precision@k.

One implementation used by the analyses, the benchmarks and tests. Labels may be any hashable
values; they are compared for equality only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _codes(values: Sequence) -> np.ndarray:
    _, codes = np.unique(np.asarray(values, dtype=object).astype(str), return_inverse=True)
    return codes.reshape(-1)


def contingency(labels: Sequence, clusters: Sequence) -> np.ndarray:
    """Counts ``[n_clusters, n_labels]`` (sorted unique clusters x sorted unique labels)."""
    lab, clu = _codes(labels), _codes(clusters)
    if len(lab) != len(clu):
        raise ValueError(f"{len(lab)} labels but {len(clu)} cluster assignments")
    table = np.zeros((clu.max(initial=-1) + 1, lab.max(initial=-1) + 1), dtype=np.int64)
    np.add.at(table, (clu, lab), 1)
    return table


def purity(labels: Sequence, clusters: Sequence) -> float:
    """Share of items whose cluster's majority label is their own label (1.0 is perfect)."""
    table = contingency(labels, clusters)
    total = table.sum()
    return float(table.max(axis=1).sum() / total) if total else float("nan")


def adjusted_rand(labels: Sequence, clusters: Sequence) -> float:
    """Adjusted Rand index (sklearn): 0 for chance, 1 for identical partitions."""
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(_codes(labels), _codes(clusters)))


def normalized_mutual_info(labels: Sequence, clusters: Sequence) -> float:
    """Normalised mutual information (sklearn, arithmetic mean normalisation)."""
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(_codes(labels), _codes(clusters)))


def cluster_scores(labels: Sequence, clusters: Sequence) -> dict[str, float]:
    """``{"ari", "nmi", "purity"}`` of a clustering against labels."""
    return {"ari": adjusted_rand(labels, clusters), "nmi": normalized_mutual_info(labels, clusters),
            "purity": purity(labels, clusters)}


def precision_at_k(labels: Sequence, neighbor_index: np.ndarray, k: int | None = None) -> np.ndarray:
    """Per query: the share of its first ``k`` neighbours that share its label.

    ``neighbor_index[i]`` lists item indices (into ``labels``) of query ``i``'s neighbours, nearest
    first, the query itself excluded. Returns ``float[n_queries]``.
    """
    lab = _codes(labels)
    idx = np.asarray(neighbor_index, dtype=np.int64)
    if idx.ndim != 2:
        raise ValueError(f"neighbor_index must be 2-D [queries, k], got shape {idx.shape}")
    k = idx.shape[1] if k is None else int(k)
    if k <= 0 or k > idx.shape[1]:
        raise ValueError(f"k={k} must be between 1 and {idx.shape[1]}")
    same = lab[idx[:, :k]] == lab[: idx.shape[0], None]
    return same.mean(axis=1)


def precision_by_label(labels: Sequence, neighbor_index: np.ndarray, k: int | None = None) -> dict[str, float]:
    """Mean precision@k per label plus ``"overall"`` (mean over all queries)."""
    per_query = precision_at_k(labels, neighbor_index, k)
    lab = np.asarray(labels, dtype=object).astype(str)[: len(per_query)]
    out = {str(name): float(per_query[lab == name].mean()) for name in sorted(set(lab))}
    out["overall"] = float(per_query.mean()) if len(per_query) else float("nan")
    return out


def chance_precision(labels: Sequence) -> float:
    """Expected precision@k of random neighbours (sum over labels of p * (n_l - 1) / (n - 1))."""
    lab = _codes(labels)
    n = len(lab)
    if n < 2:
        return float("nan")
    counts = np.bincount(lab)
    return float((counts * (counts - 1)).sum() / (n * (n - 1)))


__all__ = [
    "adjusted_rand",
    "chance_precision",
    "cluster_scores",
    "contingency",
    "normalized_mutual_info",
    "precision_at_k",
    "precision_by_label",
    "purity",
]
