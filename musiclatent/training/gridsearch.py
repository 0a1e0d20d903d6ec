"""The seed report's grid search over models x learning rates x epoch counts, without retraining.

With a schedule that does not depend on the total number of epochs (StepLR, constant), a run of
``max(epochs)`` epochs passes through the states of the shorter runs with the same seed, so one
training per ``(model, lr)`` gives every epoch count: the table reads the per-epoch metrics up to
each count. Each ``(model, lr)`` trains in ``<out>/<model>-lr<lr>/``; a run whose ``run.json``
says it finished enough epochs is not redone, an interrupted one is resumed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from musiclatent.errors import MusiclatentError
from musiclatent.fileio import atomic_path, inside, safe_name

CRITERIA = {
    "best_train_loss": "best train loss",
    "last_train_loss": "last train loss",
    "best_val_loss": "best validation loss",
    "last_val_loss": "last validation loss",
}
EPOCH_FREE_SCHEDULERS = ("step", "none", "constant")


class GridSearchError(MusiclatentError):
    """The grid cannot be run as asked."""


def run_name(model: str, lr: float) -> str:
    """Folder name of one ``(model, lr)`` run, e.g. ``alt5-lr0.005``."""
    return safe_name(f"{model}-lr{lr:g}")


def summarize(history: list[dict[str, Any]], epochs: int) -> dict[str, Any]:
    """Best and last train/validation loss over the first ``epochs`` epochs of ``history``."""
    rows = [r for r in history if r["epoch"] <= epochs]
    if len(rows) < epochs:
        return {"epochs_done": len(rows), **{k: math.nan for k in CRITERIA}, "best_val_epoch": None}
    val = [r["val_loss"] for r in rows]
    best_i = min(range(len(val)), key=val.__getitem__)
    return {
        "epochs_done": len(rows),
        "best_train_loss": min(r["train_loss"] for r in rows),
        "last_train_loss": rows[-1]["train_loss"],
        "best_val_loss": val[best_i],
        "last_val_loss": val[-1],
        "best_val_epoch": rows[best_i]["epoch"],
        "last_val_si_sdr": rows[-1].get("val_si_sdr"),
    }


def best_configurations(table: pd.DataFrame) -> pd.DataFrame:
    """For every model and criterion, the ``(lr, epochs)`` with the lowest value (fewest epochs on ties)."""
    out = []
    for model, group in table.groupby("model", sort=False):
        group = group.sort_values(["epochs", "lr"], kind="stable")
        for col, label in CRITERIA.items():
            valid = group[group[col].notna()]
            if valid.empty:
                continue
            row = valid.loc[valid[col].idxmin()]
            out.append({"model": model, "criterion": label, "lr": row["lr"], "epochs": int(row["epochs"]),
                        "value": row[col]})
    return pd.DataFrame(out, columns=["model", "criterion", "lr", "epochs", "value"])


def format_best(best: pd.DataFrame) -> str:
    """The best configurations as the report printed them, one line per model and criterion."""
    lines = []
    for model, group in best.groupby("model", sort=False):
        lines.append(f"{model}:")
        for r in group.itertuples(index=False):
            lines.append(f"  {r.criterion:<22} lr={r.lr:g}  epochs={r.epochs:<3d}  loss={r.value:.6g}")
    return "\n".join(lines)


def gridsearch(models: Sequence[str], lrs: Sequence[float], epochs_list: Sequence[int], *, workspace=None,
               data=None, out_dir=None, progress: bool = True, **train_kwargs: Any) -> pd.DataFrame:
    """Train one run per ``(model, lr)`` for ``max(epochs_list)`` epochs (reusing finished runs) and
    return the table of best/last train/validation loss per ``(model, lr, epochs)``.

    Writes ``gridsearch.csv``, ``gridsearch_best.csv`` and the chart ``gridsearch.{html,png}``
    into ``out_dir`` (default ``<workspace>/runs/grid``). Extra keyword arguments go to ``train``.
    The returned frame carries the best configurations in ``frame.attrs["best"]``.
    """
    from musiclatent.training.trainer import _workspace

    check_grid(models, lrs, epochs_list)
    ws = _workspace(workspace)
    out = Path(out_dir).expanduser().resolve() if out_dir else inside(ws.root, "runs", "grid")
    max_epochs = max(int(e) for e in epochs_list)
    rows, histories = [], []
    for model in models:
        for lr in (float(x) for x in lrs):
            run_dir = inside(out, run_name(model, lr))
            history, retrained = _grid_run(model, lr, run_dir, max_epochs, workspace=ws, data=data,
                                           progress=progress, **train_kwargs)
            histories += [{"model": model, "lr": lr, "epoch": r["epoch"], "train_loss": r["train_loss"],
                           "val_loss": r["val_loss"]} for r in history]
            rows += [{"model": model, "lr": lr, "epochs": epochs, **summarize(history, epochs),
                      "run_dir": str(run_dir), "retrained": retrained}
                     for epochs in sorted({int(e) for e in epochs_list})]
    return _write_grid(out, pd.DataFrame(rows), pd.DataFrame(histories), epochs_list)


def check_grid(models: Sequence[str], lrs: Sequence[float], epochs_list: Sequence[int]) -> None:
    """Refuse an empty or non-positive grid, and a model whose scheduler depends on the epoch count."""
    from musiclatent.plugins import get_registry

    if not models or not lrs or not epochs_list:
        raise GridSearchError("give at least one model, one learning rate and one epoch count")
    if any(int(e) < 1 for e in epochs_list) or any(float(lr) <= 0 for lr in lrs):
        raise GridSearchError("epoch counts and learning rates must be positive")
    registry = get_registry()
    for model in models:
        scheduler = dict(registry.architecture(model).recipe.get("scheduler") or {"name": "none"})
        if scheduler.get("name", "none") not in EPOCH_FREE_SCHEDULERS:
            raise GridSearchError(
                f"{model}'s scheduler {scheduler.get('name')!r} depends on the number of epochs, so one long "
                f"run cannot stand for shorter ones; use a model whose recipe uses one of {EPOCH_FREE_SCHEDULERS}")


def _grid_run(model: str, lr: float, run_dir: Path, max_epochs: int, **train_kwargs: Any
              ) -> tuple[list[dict[str, Any]], bool]:
    """One ``(model, lr)`` run's history, training (or resuming) it unless it finished
    ``max_epochs`` already; and whether it trained."""
    from musiclatent.training.trainer import read_run, train

    info = read_run(run_dir)
    done = info.get("status") in ("finished", "already_done") and len(info.get("history", [])) >= max_epochs
    if not done:
        train(model, out_dir=run_dir, epochs=max_epochs, lr=lr, resume=True, **train_kwargs)
        info = read_run(run_dir)
    return info.get("history", []), not done


def _write_grid(out: Path, table: pd.DataFrame, histories: pd.DataFrame,
                epochs_list: Sequence[int]) -> pd.DataFrame:
    """Write the tables and the chart into ``out``; ``table`` with its best configurations attached."""
    from musiclatent.charts import save_chart

    best = best_configurations(table)
    out.mkdir(parents=True, exist_ok=True)
    for frame, name in ((table, "gridsearch.csv"), (best, "gridsearch_best.csv")):
        with atomic_path(out / name) as tmp:
            frame.to_csv(tmp, index=False)
    save_chart(grid_chart(histories, epochs_list), out, "gridsearch")
    table.attrs["best"] = best
    table.attrs["out_dir"] = str(out)
    return table


def grid_chart(histories: pd.DataFrame, epochs_list: Sequence[int]):
    """Train (solid) and validation (dashed) loss per epoch, one line per lr, one panel per model;
    the grid's epoch counts are the points."""
    from musiclatent.charts import alt

    altair = alt()
    long = histories.melt(id_vars=["model", "lr", "epoch"], value_vars=["train_loss", "val_loss"],
                          var_name="split", value_name="loss")
    long["split"] = long["split"].map({"train_loss": "train", "val_loss": "validation"})
    long["lr"] = long["lr"].map(lambda v: f"{v:g}")
    long["grid"] = long["epoch"].isin({int(e) for e in epochs_list})
    epochs = sorted(set(long["epoch"]))
    axis = altair.Axis(values=epochs, format="d") if len(epochs) <= 30 else altair.Axis(format="d")
    base = altair.Chart().encode(
        x=altair.X("epoch:Q", axis=axis),
        y=altair.Y("loss:Q", scale=altair.Scale(type="log")),
        color=altair.Color("lr:N", title="learning rate"),
        detail="split:N",
        tooltip=["model:N", "lr:N", "split:N", "epoch:Q", altair.Tooltip("loss:Q", format=".5g")],
    )
    lines = base.mark_line().encode(strokeDash=altair.StrokeDash("split:N", title=None))
    points = base.mark_point(filled=True, size=60).transform_filter("datum.grid")
    return altair.layer(lines, points, data=long).properties(width=360, height=240).facet(
        column=altair.Column("model:N", title=None)).properties(title="Grid search: loss per epoch by learning rate")
