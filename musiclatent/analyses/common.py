"""Helpers the built-in analyses share: titles with the pooling, genre-coloured scatter plots,
heatmaps, standardisation and point subsampling for charts."""

from __future__ import annotations

from typing import Any

import numpy as np

from musiclatent.charts import alt

MAX_CHART_POINTS = 5000  # scatter charts above this are subsampled (the tables keep every track)
TOOLTIP_COLUMNS = ("track_id", "label", "path")


def title(ctx, text: str, extra: str = ""):
    """A chart title whose subtitle states the pooling (and the model) the result used."""
    altair = alt()
    model = ctx.metadata.get("model") or ctx.metadata.get("arch") or ""
    parts = [f"pooling: {ctx.pooling}"] + ([f"model: {model}"] if model else []) + ([extra] if extra else [])
    return altair.TitleParams(text=text, subtitle=" · ".join(parts))


def standardize(X: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per column (constant columns stay 0), float32."""
    X = np.asarray(X, dtype=np.float32)
    mean = X.mean(axis=0, dtype=np.float64)
    std = X.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    return ((X - mean) / std).astype(np.float32)


def track_frame(tracks, **columns: Any):
    """``track_id, path, label, split`` of ``tracks`` plus ``columns`` (arrays of the same length)."""
    import pandas as pd

    base = {c: tracks[c].to_numpy() if c in tracks else None for c in ("track_id", "path", "label", "split")}
    frame = pd.DataFrame(base)
    frame["label"] = frame["label"].astype(object).where(frame["label"].notna(), "unknown")
    for name, values in columns.items():
        frame[name] = np.asarray(values)
    return frame


def subsample(frame, seed: int = 0, limit: int = MAX_CHART_POINTS):
    """At most ``limit`` rows of ``frame`` (random, seeded) and a note when rows were dropped."""
    if len(frame) <= limit:
        return frame, None
    picked = frame.sample(n=limit, random_state=seed).sort_index()
    return picked, f"the chart shows {limit} of {len(frame)} tracks (random sample); the table has all"


def genre_scatter(frame, x: str, y: str, chart_title, x_title: str, y_title: str,
                  extra_tooltip: tuple[str, ...] = ()):
    """Scatter of ``frame[x]`` vs ``frame[y]``, coloured by genre, tooltips track/genre/path."""
    altair = alt()
    tooltip = [altair.Tooltip("track_id:N", title="track"), altair.Tooltip("label:N", title="genre"),
               altair.Tooltip("path:N", title="path")]
    tooltip += [altair.Tooltip(f"{c}:Q", format=".3f") for c in extra_tooltip]
    return (
        altair.Chart(frame, title=chart_title)
        .mark_circle(size=45, opacity=0.8)
        .encode(
            x=altair.X(f"{x}:Q", title=x_title, scale=altair.Scale(zero=False)),
            y=altair.Y(f"{y}:Q", title=y_title, scale=altair.Scale(zero=False)),
            color=altair.Color("label:N", title="genre"),
            tooltip=tooltip,
        )
        .interactive()
    )


def heatmap(frame, x: str, y: str, value: str, chart_title, x_title: str, y_title: str,
            value_title: str, fmt: str = "d"):
    """A rectangle heatmap with the value written in every cell: dark text on light cells,
    white text on dark ones (cells above half of the largest value, where "blues" is dark)."""
    altair = alt()
    values = frame[value].astype(float)
    top = float(values.max()) if len(values) else 0.0
    low = float(values.min()) if len(values) else 0.0
    threshold = low + (top - low) / 2.0
    base = altair.Chart(frame, title=chart_title).encode(
        x=altair.X(f"{x}:N", title=x_title, sort=None, axis=altair.Axis(grid=False)),
        y=altair.Y(f"{y}:N", title=y_title, sort=None, axis=altair.Axis(grid=False)),
    )
    rect = base.mark_rect().encode(
        color=altair.Color(f"{value}:Q", title=value_title, scale=altair.Scale(scheme="blues")),
        tooltip=[altair.Tooltip(f"{y}:N", title=y_title), altair.Tooltip(f"{x}:N", title=x_title),
                 altair.Tooltip(f"{value}:Q", title=value_title, format=fmt)],
    )
    text = base.mark_text(fontSize=10).encode(
        text=altair.Text(f"{value}:Q", format=fmt),
        color=altair.condition(f"datum[{value!r}] > {threshold!r}", altair.value("white"),
                               altair.value("black")),
    )
    return rect + text


UNKNOWN = "unknown"  # the label ``AnalysisContext.labels`` gives a track without one


def label_skip_reason(labels, what: str) -> str | None:
    """Why scores against the labels mean nothing here (one line naming ``what`` is skipped), or None.

    Fewer than two distinct real labels (every track unlabelled, or all sharing one label) makes
    any agreement score trivially perfect (purity 1.0, precision 1.0), so it is not computed.
    """
    labels = np.asarray(labels, dtype=object).astype(str)
    known = sorted({str(v) for v in labels[labels != UNKNOWN]})
    if len(known) >= 2:
        return None
    if not known:
        why = f"none of the {len(labels)} tracks has a label"
    else:
        why = f"every labelled track has the same label {known[0]!r}"
    return f"{what} skipped: {why}; scores against labels need at least two different labels"


def unlabelled_note(labels) -> str | None:
    """A note when some (not all) tracks have no label and count as the genre 'unknown'."""
    labels = np.asarray(labels, dtype=object).astype(str)
    missing = int((labels == UNKNOWN).sum())
    if 0 < missing < len(labels):
        return f"{missing} of {len(labels)} tracks have no label and count as the genre {UNKNOWN!r}"
    return None


def need_tracks(X: np.ndarray, minimum: int, what: str) -> None:
    """A clear error when there are too few tracks for ``what``."""
    from musiclatent.analyses.base import AnalysisError

    if len(X) < minimum:
        raise AnalysisError(f"{what} needs at least {minimum} tracks; the table has {len(X)}")
