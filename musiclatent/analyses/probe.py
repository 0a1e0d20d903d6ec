"""``probe``: how much genre the track vectors carry (a linear classifier, cross-validated),
beside the same classifier on an MFCC baseline computed from the same audio, and chance.

Large tables are bounded: above ``fit_sample`` labelled tracks (default 20 000) the cross-validation
(and the MFCC baseline, which reads audio) runs on a seeded sample of that many tracks, stratified
by label; the summary, a note and the chart titles say so.
"""

from __future__ import annotations

import warnings

import numpy as np

from musiclatent.analyses.base import AnalysisError, AnalysisResult
from musiclatent.analyses.common import UNKNOWN, heatmap, label_skip_reason, title
from musiclatent.charts import alt


def cross_validate(X: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0, max_iter: int = 1000,
                   groups: np.ndarray | None = None):
    """Out-of-fold predictions of a scaled logistic regression: ``(predictions, folds_used)``.

    Without ``groups``: stratified k-fold, ``folds`` clipped to the smallest class size (at least 2).
    With ``groups`` (e.g. the source track of each excerpt): stratified *group* k-fold, so no group
    is on both sides of a fold and each fold holds the labels in about their overall proportions;
    ``folds`` clipped to the number of groups. Both shuffle with ``seed``.
    """
    pred, k, _ = cross_validate_folds(X, y, folds, seed, max_iter, groups)
    return pred, k


def cross_validate_folds(X: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0, max_iter: int = 1000,
                         groups: np.ndarray | None = None):
    """:func:`cross_validate` plus the accuracy of each fold: ``(predictions, folds_used, fold_accuracies)``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(y)
    k, splits = fold_splits(y, folds, seed, groups)
    pred = np.empty_like(y)
    fold_acc = []
    for train, test in splits:
        if len(np.unique(y[train])) < 2:
            raise AnalysisError("a training fold holds a single label; use fewer folds or more groups")
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter)).fit(X[train], y[train])
        pred[test] = clf.predict(X[test])
        fold_acc.append(float(np.mean(pred[test] == y[test])))
    return pred, k, np.asarray(fold_acc)


def fold_splits(y: np.ndarray, folds: int = 5, seed: int = 0,
                groups: np.ndarray | None = None) -> tuple[int, list[tuple[np.ndarray, np.ndarray]]]:
    """The folds :func:`cross_validate_folds` uses: ``(k, [(train_rows, test_rows), ...])``."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    y = np.asarray(y)
    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2:
        raise AnalysisError("probe needs at least two labels among the tracks")
    rows = np.zeros((len(y), 1))
    if groups is None:
        k = int(min(folds, counts.min()))
        if k < 2:
            raise AnalysisError(
                f"probe needs at least 2 tracks of every label; the smallest label has {counts.min()}")
        return k, list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(rows, y))
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    k = int(min(folds, n_groups))
    if k < 2:
        raise AnalysisError(f"probe with grouped folds needs at least 2 groups; found {n_groups}")
    with warnings.catch_warnings():  # a label with fewer groups than folds is legal, and said by the folds
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        return k, list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(rows, y, groups))


def repeated_cv(X: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0, repeats: int = 1,
                groups: np.ndarray | None = None) -> dict:
    """:func:`cross_validate_folds` repeated over ``repeats`` shuffles of the folds (seeds ``seed``,
    ``seed + 1``, ...), since one split of a few hundred tracks moves the accuracy by points.

    Returns ``accuracy`` and ``macro_f1`` averaged over the repeats, ``repeat_std`` (the spread of the
    repeats' accuracies: how much the estimate itself moves), ``fold_mean``/``fold_std`` (over every
    fold of every repeat: how much one held-out fold moves), ``repeats``, ``folds`` (the folds used)
    and ``predictions`` (one array of out-of-fold predictions per repeat).
    """
    if repeats < 1:
        raise AnalysisError(f"repeats must be at least 1; got {repeats}")
    y = np.asarray(y)
    runs = [cross_validate_folds(X, y, folds, seed + r, groups=groups) for r in range(int(repeats))]
    each = [scores(y, pred) for pred, _, _ in runs]
    acc = np.array([s["accuracy"] for s in each])
    fold_acc = np.concatenate([f for _, _, f in runs])
    return {"accuracy": float(acc.mean()), "macro_f1": float(np.mean([s["macro_f1"] for s in each])),
            "repeat_std": float(acc.std()), "fold_mean": float(fold_acc.mean()), "fold_std": float(fold_acc.std()),
            "repeats": int(repeats), "folds": int(runs[0][1]), "predictions": [pred for pred, _, _ in runs]}


def track_groups(ctx, column: str, tracks) -> np.ndarray:
    """The ``column`` value of each track: a column of the tracks table, else of the labels CSV the
    corpus was scanned with (e.g. ``source_track``); a track without a value is its own group."""
    if column in tracks.columns:
        values = tracks[column].astype(object).to_numpy()
    else:
        from musiclatent.corpus.discover import read_csv_column

        settings = ctx.workspace.settings() if ctx.workspace is not None else {}
        csv_path = settings.get("labels_csv")
        if not csv_path:
            raise AnalysisError(f"--group-by {column}: not a column of the tracks ({', '.join(tracks.columns)}) "
                                "and the workspace remembers no labels CSV to look it up in")
        by_path = read_csv_column(csv_path, column)
        values = np.array([by_path.get(str(p), by_path.get(str(t))) for p, t in
                           zip(tracks["path"], tracks["track_id"], strict=True)], dtype=object)
    own = tracks["track_id"].astype(str).to_numpy()
    return np.array([own[i] if v is None or v != v or str(v) == "" else str(v) for i, v in enumerate(values)],
                    dtype=object)


def scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1."""
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": float(accuracy_score(y, pred)),
            "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0))}


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


_SCORE_KEYS = ("accuracy", "macro_f1", "fold_mean", "fold_std", "repeat_std")


def run(ctx, *, folds: int, repeats: int, baseline: bool, fit_sample: int, group_by: str | None) -> AnalysisResult:
    """Cross-validated genre probe on latents, on MFCC mean+std, and the chance level.

    Every score is the mean over ``repeats`` shuffles of the folds (:func:`repeated_cv`), with the
    spread over repeats and over folds beside it; the confusion matrix is the mean over repeats.

    ``group_by``: folds grouped by this column (of the tracks, or of the corpus's labels CSV), so
    excerpts of one source track never sit on both sides of a fold. ``fit_sample``: above this many
    labelled tracks, cross-validate on a seeded sample of that many, stratified by genre.
    """
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
    groups = track_groups(ctx, group_by, tracks)[picked] if group_by else None
    cv = repeated_cv(Xk, yk, folds, ctx.seed, repeats, groups)
    k = cv["folds"]
    latent_scores = {key: cv[key] for key in _SCORE_KEYS}
    values, counts = np.unique(yk, return_counts=True)
    chance = float(counts.max() / counts.sum())
    rows = [{"features": "latents", **latent_scores, "tracks": int(len(yk))},
            {"features": "chance (majority class)", "accuracy": chance,
             "macro_f1": float(1.0 / len(values)) if len(values) else float("nan"), "tracks": int(len(yk))}]
    summary = {"n_tracks": int(len(X)), "n_labelled": int(known.sum()), "n_fitted": int(len(yk)),
               "n_labels": int(len(values)), "folds": k, "repeats": int(repeats),
               "grouped_by": group_by, "groups": int(len(np.unique(groups))) if groups is not None else None,
               "latent_accuracy": latent_scores["accuracy"], "latent_macro_f1": latent_scores["macro_f1"],
               "latent_fold_mean": latent_scores["fold_mean"], "latent_fold_std": latent_scores["fold_std"],
               "latent_repeat_std": latent_scores["repeat_std"],
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
            bcv = repeated_cv(M, yk[ok], folds, ctx.seed, repeats, groups[ok] if groups is not None else None)
            b = {key: bcv[key] for key in _SCORE_KEYS}
            rows.insert(1, {"features": "MFCC mean+std (baseline)", **b, "tracks": int(ok.sum())})
            summary.update(mfcc_accuracy=b["accuracy"], mfcc_macro_f1=b["macro_f1"], mfcc_tracks=int(ok.sum()),
                           mfcc_fold_mean=b["fold_mean"], mfcc_fold_std=b["fold_std"],
                           mfcc_repeat_std=b["repeat_std"])
        except AnalysisError as exc:
            notes.append(f"MFCC baseline not computed: {exc}")
            summary.update(mfcc_accuracy=None, mfcc_macro_f1=None, mfcc_tracks=0)
    table = pd.DataFrame(rows)
    cm = np.mean([confusion_matrix(yk, pred, labels=values) for pred in cv["predictions"]], axis=0)
    cm_frame = pd.DataFrame([{"true": t, "predicted": p, "tracks": round(float(cm[i, j]), 2)}
                             for i, t in enumerate(values) for j, p in enumerate(values)])
    altair = alt()
    heat = heatmap(cm_frame, "predicted", "true", "tracks",
                   title(ctx, "Genre probe on latents: confusion matrix",
                         f"{k}-fold CV{f' grouped by {group_by}' if group_by else ''}"
                         f"{f' x {repeats} repeats' if repeats > 1 else ''} on {bound}: accuracy "
                         f"{latent_scores['accuracy']:.2f} (+- {latent_scores['repeat_std']:.2f} over repeats, "
                         f"+- {latent_scores['fold_std']:.2f} over folds)"),
                   "predicted genre", "true genre", "mean tracks" if repeats > 1 else "tracks",
                   fmt=".1f" if repeats > 1 else "d")
    bars = altair.Chart(table.melt(id_vars=["features", "tracks"], value_vars=["accuracy", "macro_f1"],
                                   var_name="score"),
                        title=title(ctx, "Genre probe: latents vs MFCC baseline vs chance",
                                    f"{k}-fold CV{f' x {repeats} repeats' if repeats > 1 else ''} on {bound}")).mark_bar().encode(
        x=altair.X("score:N", title=None),
        xOffset="features:N",
        y=altair.Y("value:Q", title="score", scale=altair.Scale(domain=[0, 1])),
        color=altair.Color("features:N", title="features"),
        tooltip=["features:N", "score:N", altair.Tooltip("value:Q", format=".3f"), "tracks:Q"],
    )
    return AnalysisResult(summary=summary, tables={"probe_scores": table, "confusion_matrix": cm_frame},
                          charts={"confusion_matrix": heat, "probe_scores": bars}, notes=notes)
