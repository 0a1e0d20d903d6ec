"""``dims``: how many latent dimensions a model uses.

Every latent frame (one of the ``T'`` columns of a segment's ``[C, T']`` latent) is a vector of
``C`` channel values. Streaming over the table (memory: one batch plus a ``C x C`` covariance),
this computes each channel's variance and the PCA of the frames (eigenvalues of their channel
covariance): the explained-variance curve and how many principal directions hold 90 / 95 / 99 %
of the variance. A table is one model's encoding, so this is a per-model answer; run it on each
model's table to compare them.
"""

from __future__ import annotations

import numpy as np

from musiclatent.analyses.base import AnalysisError, AnalysisResult
from musiclatent.analyses.common import title
from musiclatent.charts import alt

THRESHOLDS = (0.90, 0.95, 0.99)


def frame_moments(table, batch_rows: int = 4096) -> tuple[np.ndarray, np.ndarray, int]:
    """``(mean[C], covariance[C, C], frames)`` of the latent frames of every segment, streamed.

    Sums are float64 and taken around the first batch's mean (numerically safe for offsets).
    """
    from musiclatent.latents.schema import fixed_list_to_numpy

    c, t = (int(v) for v in table.latent_shape)
    shift = None
    n = 0
    s1 = np.zeros(c, dtype=np.float64)
    s2 = np.zeros((c, c), dtype=np.float64)
    for batch in table.iter_batches(["latent"], batch_rows):
        if not batch.num_rows:
            continue
        lat = fixed_list_to_numpy(batch.column(0), c * t).reshape(-1, c, t)
        frames = lat.transpose(0, 2, 1).reshape(-1, c).astype(np.float64)
        if shift is None:
            shift = frames.mean(axis=0)
        frames -= shift
        s1 += frames.sum(axis=0)
        s2 += frames.T @ frames
        n += len(frames)
    if n < 2:
        raise AnalysisError(f"dims needs at least 2 latent frames; the table has {n}")
    mean_shifted = s1 / n
    cov = (s2 - n * np.outer(mean_shifted, mean_shifted)) / (n - 1)
    cov = (cov + cov.T) / 2.0
    return mean_shifted + shift, cov, n


def dims_for(cumulative: np.ndarray, share: float) -> int:
    """The fewest leading components whose cumulative share reaches ``share`` (0 when none vary)."""
    if not len(cumulative) or cumulative[-1] <= 0:
        return 0
    return int(min(len(cumulative), np.searchsorted(cumulative, share - 1e-9) + 1))


def run(ctx) -> AnalysisResult:
    """Per-channel variance and the PCA explained-variance curve of the latent frames."""
    import pandas as pd

    mean, cov, frames = frame_moments(ctx.table)
    c = len(mean)
    variance = np.clip(np.diag(cov), 0.0, None)
    total = float(variance.sum())
    eig = np.clip(np.linalg.eigvalsh(cov)[::-1], 0.0, None)
    notes: list[str] = []
    if total <= 0:
        notes.append("every latent channel is constant: the model encodes nothing that varies")
        ratio = np.zeros(c)
    else:
        ratio = eig / eig.sum()
    cumulative = np.cumsum(ratio)
    needed = {f"dims_{round(s * 100)}": dims_for(cumulative, s) for s in THRESHOLDS}
    participation = float(eig.sum() ** 2 / (eig ** 2).sum()) if total > 0 else 0.0
    channels = pd.DataFrame({
        "channel": np.arange(c), "variance": variance, "mean": mean,
        "share": variance / total if total > 0 else np.zeros(c),
    })
    curve = pd.DataFrame({"component": np.arange(1, c + 1), "explained": ratio, "cumulative": cumulative})
    model = ctx.metadata.get("model") or ctx.metadata.get("arch") or "unknown"
    dims_text = ", ".join(f"{round(s * 100)}%: {needed[f'dims_{round(s * 100)}']}" for s in THRESHOLDS)
    summary = {"model": model, "channels": c, "frames_per_segment": int(ctx.latent_shape[1]),
               "frames": int(frames), **needed, "participation_ratio": participation,
               "total_variance": total,
               "top_channel_share": float(channels["share"].max()) if total > 0 else 0.0}

    altair = alt()
    line = altair.Chart(curve, title=title(
        ctx, "Latent dimensions in use: cumulative explained variance",
        f"{c} channels, {frames} frames; dimensions for {dims_text}")).mark_line(point=True).encode(
        x=altair.X("component:Q", title="principal components of the latent frames",
                   scale=altair.Scale(domain=[1, max(c, 2)])),
        y=altair.Y("cumulative:Q", title="cumulative share of variance", scale=altair.Scale(domain=[0, 1]),
                   axis=altair.Axis(format="%")),
        tooltip=[altair.Tooltip("component:Q"), altair.Tooltip("explained:Q", format=".2%"),
                 altair.Tooltip("cumulative:Q", format=".2%")],
    )
    marks = pd.DataFrame({"share": list(THRESHOLDS), "level": [f"{round(s * 100)}%" for s in THRESHOLDS]})
    rules = altair.Chart(marks).mark_rule(strokeDash=[4, 4], color="gray").encode(
        y="share:Q", tooltip=["level:N"])
    bars = altair.Chart(channels, title=title(ctx, "Variance of each latent channel",
                                              f"total {total:.4g}")).mark_bar().encode(
        x=altair.X("channel:O", title="latent channel",
                   sort=altair.EncodingSortField("variance", order="descending")),
        y=altair.Y("variance:Q", title="variance over frames"),
        tooltip=["channel:O", altair.Tooltip("variance:Q", format=".4g"),
                 altair.Tooltip("share:Q", format=".2%"), altair.Tooltip("mean:Q", format=".4g")],
    )
    return AnalysisResult(summary=summary, tables={"channel_variance": channels, "explained_variance": curve},
                          charts={"explained_variance": line + rules, "channel_variance": bars}, notes=notes)
