"""Grid search: one run per (model, lr), epoch counts read from the per-epoch metrics, no retraining."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from _tiny_arch import TinyPlugin

from musiclatent.training.gridsearch import (
    CRITERIA,
    GridSearchError,
    best_configurations,
    format_best,
    summarize,
)

torch.set_num_threads(1)
FAST = {"segment_seconds": 1.0, "max_train_segments": 8, "progress": False, "charts": False}


@pytest.fixture
def tiny_arch(fresh_plugins):
    fresh_plugins.register_plugin(TinyPlugin(), name="tiny-test")
    yield "tiny"


def _history(train, val):
    return [{"epoch": i + 1, "train_loss": t, "val_loss": v} for i, (t, v) in enumerate(zip(train, val, strict=True))]


def test_summarize_reads_best_and_last_up_to_each_epoch_count():
    h = _history([5, 4, 3, 2], [6, 3, 4, 5])
    assert summarize(h, 2) == {"epochs_done": 2, "best_train_loss": 4, "last_train_loss": 4, "best_val_loss": 3,
                               "last_val_loss": 3, "best_val_epoch": 2, "last_val_si_sdr": None}
    four = summarize(h, 4)
    assert (four["best_val_loss"], four["last_val_loss"], four["best_val_epoch"]) == (3, 5, 2)
    assert pd.isna(summarize(h, 5)["best_train_loss"])  # not trained that far


def test_best_configuration_per_criterion():
    table = pd.DataFrame([
        {"model": "m", "lr": 0.1, "epochs": 5, "best_train_loss": 1.0, "last_train_loss": 1.0,
         "best_val_loss": 2.0, "last_val_loss": 2.0},
        {"model": "m", "lr": 0.01, "epochs": 5, "best_train_loss": 0.5, "last_train_loss": 0.9,
         "best_val_loss": 1.5, "last_val_loss": 3.0},
        {"model": "m", "lr": 0.01, "epochs": 10, "best_train_loss": 0.5, "last_train_loss": 0.6,
         "best_val_loss": 1.5, "last_val_loss": 2.5},
    ])
    best = best_configurations(table).set_index("criterion")
    assert list(best.index) == list(CRITERIA.values())
    assert (best.loc["best train loss", "lr"], best.loc["best train loss", "epochs"]) == (0.01, 5)  # tie: fewer epochs
    assert best.loc["last train loss", "epochs"] == 10
    assert (best.loc["last validation loss", "lr"], best.loc["last validation loss", "value"]) == (0.1, 2.0)
    text = format_best(best.reset_index())
    assert "best validation loss" in text and "lr=0.01" in text


def test_gridsearch_trains_once_per_lr_and_reuses_finished_runs(tmp_path, tiny_corpus, tiny_arch, monkeypatch):
    from musiclatent.training import gridsearch as gs
    from musiclatent.training import trainer

    ws = tmp_path / "ws"
    calls = []
    real_train = trainer.train
    monkeypatch.setattr(trainer, "train", lambda *a, **k: calls.append(k["epochs"]) or real_train(*a, **k))
    table = gs.gridsearch(["tiny"], [0.01, 0.001], [1, 2], workspace=ws, data=tiny_corpus, **FAST)
    assert calls == [2, 2]  # one run per lr, for max(epochs)
    assert len(table) == 4 and set(table["epochs"]) == {1, 2} and table["best_val_loss"].notna().all()
    out = ws / "runs" / "grid"
    for name in ("gridsearch.csv", "gridsearch_best.csv", "gridsearch.html", "gridsearch.png",
                 "tiny-lr0.01/metrics.jsonl", "tiny-lr0.001/best.safetensors"):
        assert (out / name).exists(), name
    assert set(table.attrs["best"]["criterion"]) == set(CRITERIA.values())
    # the 1-epoch row reads epoch 1 of the 2-epoch run
    row = table[(table.lr == 0.01) & (table.epochs == 1)].iloc[0]
    hist = trainer.read_run(out / "tiny-lr0.01")["history"]
    assert row["last_train_loss"] == pytest.approx(hist[0]["train_loss"])

    calls.clear()
    again = gs.gridsearch(["tiny"], [0.01, 0.001], [1, 2], workspace=ws, data=tiny_corpus, **FAST)
    assert calls == [] and not again["retrained"].any()
    pd.testing.assert_frame_equal(again.drop(columns="retrained"), table.drop(columns="retrained"))


def test_interrupted_grid_resumes_the_unfinished_run(tmp_path, tiny_corpus, tiny_arch):
    from musiclatent.training import gridsearch as gs
    from musiclatent.training.trainer import read_run, train

    ws = tmp_path / "ws"
    run_dir = ws / "runs" / "grid" / gs.run_name("tiny", 0.01)
    train("tiny", workspace=ws, data=tiny_corpus, out_dir=run_dir, epochs=2, lr=0.01, **FAST)
    first = read_run(run_dir)["history"]
    # as if killed during epoch 3: the state holds 2 epochs and run.json says it was interrupted
    info_path = run_dir / "run.json"
    info_path.write_text(info_path.read_text().replace('"status": "finished"', '"status": "interrupted"'))
    table = gs.gridsearch(["tiny"], [0.01], [3], workspace=ws, data=tiny_corpus, **FAST)
    history = read_run(run_dir)["history"]
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert history[0]["train_loss"] == first[0]["train_loss"]
    assert read_run(run_dir)["resumed_from_epoch"] == 2  # epochs 1-2 were not redone
    assert table.iloc[0]["retrained"]


class _CosinePlugin:
    from musiclatent.hookspecs import hookimpl as _hookimpl

    @_hookimpl
    def register_architectures(self, register):
        from _tiny_arch import TINY_RECIPE, TinyAE

        from musiclatent.registry import ArchitectureSpec

        register(ArchitectureSpec(name="tiny-cosine", description="test model, cosine schedule", factory=TinyAE,
                                  recipe={**TINY_RECIPE, "scheduler": {"name": "cosine"}}))


def test_bad_grid_is_refused(tmp_path, tiny_arch, fresh_plugins):
    """Each refusal for its own reason, before anything trains: an empty or non-positive grid, and a
    model whose schedule depends on the epoch count (one long run would not stand for the short ones)."""
    from musiclatent.training.gridsearch import gridsearch

    with pytest.raises(GridSearchError, match="at least one model, one learning rate and one epoch count"):
        gridsearch(["tiny"], [], [5], workspace=tmp_path / "ws")
    for lrs, epochs in (([0.1], [0]), ([-0.1], [1]), ([0.0], [1])):
        with pytest.raises(GridSearchError, match="must be positive"):
            gridsearch(["tiny"], lrs, epochs, workspace=tmp_path / "ws")
    fresh_plugins.register_plugin(_CosinePlugin(), name="tiny-cosine")
    with pytest.raises(GridSearchError, match="tiny-cosine's scheduler 'cosine' depends on the number of epochs"):
        gridsearch(["tiny", "tiny-cosine"], [0.1], [1, 2], workspace=tmp_path / "ws")
    assert not (tmp_path / "ws" / "runs").exists()  # refused before the first model trained


def test_cli_gridsearch_twice_retrains_nothing_the_second_time(tmp_path, tiny_corpus, tiny_arch):
    from click.testing import CliRunner

    from musiclatent.cli import cli

    args = ["--workspace", str(tmp_path / "ws"), "gridsearch", "--models", "tiny", "--lrs", "0.01,0.001",
            "--epochs", "1,2", "--data", str(tiny_corpus), "--segment-seconds", "1", "--max-segments", "8"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "2 trained now, 0 reused" in first.output and "best validation loss" in first.output
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert "0 trained now, 2 reused" in second.output
    bad = CliRunner().invoke(cli, [*args[:5], "--lrs", "fast", "--epochs", "1"])
    assert bad.exit_code != 0 and "comma-separated" in bad.output
