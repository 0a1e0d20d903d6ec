"""``probe``: how much genre the track vectors carry (a linear classifier, cross-validated),
beside the same classifier on an MFCC baseline computed from the same audio, and chance.

Large tables are bounded: above ``fit_sample`` labelled tracks (default 20 000) the cross-validation
(and the MFCC baseline, which reads audio) runs on a seeded sample of that many tracks, stratified
by label; the summary, a note and the chart titles say so.
"""

from __future__ import annotations

import numpy as np

from musiclatent.analyses.common import UNKNOWN, heatmap, label_skip_reason, title
from musiclatent.analysis import AnalysisError, AnalysisResult
from musiclatent.charts import alt


def cross_validate(X: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0, max_iter: int = 1000):
    """Stratified k-fold predictions of a scaled logistic regression: ``(predictions, folds_used)``.

    ``folds`` is clipped to the smallest class size (at least 2).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2:
        raise AnalysisError("probe needs at least two labels among the tracks")
    k = int(min(folds, counts.min()))
    if k < 2:
        raise AnalysisError(
            f"probe needs at least 2 tracks of every label; the smallest label has {counts.min()}")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return cross_val_predict(clf, X, y, cv=cv), k


def scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1."""
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": float(accuracy_score(y, pred)),
            "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0))}


FIT_SAMPLE = 20_000


def sample_rows(y: np.ndarray, fit_sample: int, seed: int) -> np.ndarray:
    """Sorted row numbers: all, or a seeded sample of ``fit_sample`` stratified by ``y`` when possible."""
    if fit_sample < 0 or 0 < fit_sample < 4:
        raise AnalysisError(f"fit_sample must be 0 (every track) or at least 4; got {fit_sample}")
    if not fit_sample or len(y) <= fit_sample:
        return np.arange(len(y))
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    try:
        picked, _ = train_test_split(rows, train_size=int(fit_sample), stratify=y, random_state=seed)
    except ValueError:  # a label too rare to stratify: a plain random sample
        picked = np.random.default_rng(seed).choice(rows, int(fit_sample), replace=False)
    return np.sort(picked)


def run(ctx, folds: int = 5, baseline: bool = True, fit_sample: int = FIT_SAMPLE) -> AnalysisResult:
    """Cross-validated genre probe on latents, on MFCC mean+std, and the chance level."""
    import pandas as pd
    from sklearn.metrics import confusion_matrix

    X, tracks = ctx.track_vectors()
    labels = ctx.labels()
    known = labels != UNKNOWN
    skip = label_skip_reason(labels, "the genre probe")
    if skip:  # nothing to predict: say so instead of failing or scoring a single class
        return AnalysisResult(summary={"n_tracks": int(len(X)), "n_labelled": int(known.sum()),
                                       "n_labels": int(len(set(labels[known])))}, notes=[skip])
    if known.sum() < 4:
        raise AnalysisError(f"the genre probe needs at least 4 labelled tracks; the table has {len(X)} "
                            f"tracks, {int(known.sum())} of them labelled")
    notes: list[str] = []
    if (~known).any():
        notes.append(f"{int((~known).sum())} of {len(X)} tracks without a label left out")
    rows = np.flatnonzero(known)
    picked = rows[sample_rows(labels[known], int(fit_sample), int(ctx.seed))]
    bound = (f"{len(picked)} of {len(rows)} labelled tracks (stratified sample, --fit-sample)"
             if len(picked) < len(rows) else f"all {len(rows)} labelled tracks")
    if len(picked) < len(rows):
        notes.append(f"cross-validated on {bound}")
    Xk, yk = X[picked], labels[picked]
    pred, k = cross_validate(Xk, yk, folds, ctx.seed)
    latent_scores = scores(yk, pred)
    values, counts = np.unique(yk, return_counts=True)
    chance = float(counts.max() / counts.sum())
    rows = [{"features": "latents", **latent_scores, "tracks": int(len(yk))},
            {"features": "chance (majority class)", "accuracy": chance,
             "macro_f1": float(1.0 / len(values)) if len(values) else float("nan"), "tracks": int(len(yk))}]
    summary = {"n_tracks": int(len(X)), "n_labelled": int(known.sum()), "n_fitted": int(len(yk)), "n_labels": int(len(values)), "folds": k,
               "latent_accuracy": latent_scores["accuracy"], "latent_macro_f1": latent_scores["macro_f1"],
               "chance_accuracy": chance, "fit_sample": int(fit_sample), "bound": bound}
    if baseline:
        from musiclatent.analyses.features import mfcc_matrix

        paths = tracks["path"].astype(str).to_numpy()[picked]
        try:
            M, ok, problems = mfcc_matrix(paths, ctx.read_audio, ctx.sample_rate)
        except AnalysisError as exc:
            M, ok, problems = None, None, [str(exc)]
        for p in problems[:20]:
            notes.append(f"MFCC baseline skipped {p}")
        if len(problems) > 20:
            notes.append(f"... and {len(problems) - 20} more unreadable files")
        try:
            if M is None or len(M) < 4:
                raise AnalysisError("too few readable tracks")
            bpred, _ = cross_validate(M, yk[ok], folds, ctx.seed)
            b = scores(yk[ok], bpred)
            rows.insert(1, {"features": "MFCC mean+std (baseline)", **b, "tracks": int(ok.sum())})
            summary.update(mfcc_accuracy=b["accuracy"], mfcc_macro_f1=b["macro_f1"], mfcc_tracks=int(ok.sum()))
        except AnalysisError as exc:
            notes.append(f"MFCC baseline not computed: {exc}")
            summary.update(mfcc_accuracy=None, mfcc_macro_f1=None, mfcc_tracks=0)
    table = pd.DataFrame(rows)
    cm = confusion_matrix(yk, pred, labels=values)
    cm_frame = pd.DataFrame([{"true": t, "predicted": p, "tracks": int(cm[i, j])}
                             for i, t in enumerate(values) for j, p in enumerate(values)])
    altair = alt()
    heat = heatmap(cm_frame, "predicted", "true", "tracks",
                   title(ctx, "Genre probe on latents: confusion matrix",
                         f"{k}-fold CV on {bound}, accuracy {latent_scores['accuracy']:.2f}"),
                   "predicted genre", "true genre", "tracks")
    bars = altair.Chart(table.melt(id_vars=["features", "tracks"], value_vars=["accuracy", "macro_f1"],
                                   var_name="score"),
                        title=title(ctx, "Genre probe: latents vs MFCC baseline vs chance",
                                    f"{k}-fold CV on {bound}")).mark_bar().encode(
        x=altair.X("score:N", title=None),
        xOffset="features:N",
        y=altair.Y("value:Q", title="score", scale=altair.Scale(domain=[0, 1])),
        color=altair.Color("features:N", title="features"),
        tooltip=["features:N", "score:N", altair.Tooltip("value:Q", format=".3f"), "tracks:Q"],
    )
    return AnalysisResult(summary=summary, tables={"probe_scores": table, "confusion_matrix": cm_frame},
                          charts={"confusion_matrix": heat, "probe_scores": bars}, notes=notes)
