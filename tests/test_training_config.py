"""The typed training options: a request resolves against the recipe (new run) or the stored
config (resume) into a TrainConfig whose stored form is what earlier versions wrote."""

from __future__ import annotations

import json

import pytest

from musiclatent.training.config import TrainConfig, TrainingError, TrainRequest, resolve

RECIPE = {"loss": "mse", "lr": 0.01, "epochs": 3, "batch_size": 4, "eval_batch_size": 8, "optimizer": "adam",
          "scheduler": {"name": "step", "step_size": 1, "gamma": 0.5}}
# the stored ``training`` of a run written by musiclatent 0.1.0 (keys in the order it wrote them)
STORED_0_1_0 = ('{"model": "tiny", "lr": 0.01, "loss": "mse", "batch_size": 4, "segment_seconds": 1.0, '
                '"seed": 0, "optimizer": "adam", "scheduler": {"name": "step", "step_size": 1, "gamma": 0.5}, '
                '"config_overrides": {}, "max_train_segments": 12, "eval_batch_size": 8, "epochs": 2, '
                '"workers": 0}')


def test_a_new_run_takes_the_request_then_the_recipe_then_the_defaults():
    cfg = resolve(TrainRequest("tiny", lr=0.5, segment_seconds=1, max_train_segments=12, epochs=2),
                  RECIPE, None, None)
    assert (cfg.lr, cfg.batch_size, cfg.eval_batch_size, cfg.epochs) == (0.5, 4, 8, 2)
    assert isinstance(cfg.segment_seconds, float) and cfg.grad_clip is None
    bare = resolve(TrainRequest("tiny"), {}, None, None)
    assert (bare.lr, bare.loss, bare.batch_size, bare.eval_batch_size, bare.epochs, bare.optimizer,
            bare.scheduler) == (1e-3, "mse", 10, 20, 30, "adam", {"name": "none"})


def test_the_stored_form_keeps_the_old_keys_in_the_old_order():
    """Checkpoint metadata is JSON without sorted keys: the order is part of the file's bytes."""
    cfg = resolve(TrainRequest("tiny", segment_seconds=1.0, max_train_segments=12, epochs=2), RECIPE, None, None)
    assert json.dumps(cfg.as_dict()) == STORED_0_1_0
    assert json.dumps(TrainConfig.from_dict(json.loads(STORED_0_1_0)).as_dict()) == STORED_0_1_0


def test_grad_clip_is_recorded_only_when_the_recipe_asks():
    cfg = resolve(TrainRequest("tiny"), {**RECIPE, "grad_clip": 1}, None, None)
    assert list(cfg.as_dict())[-1] == "grad_clip" and cfg.as_dict()["grad_clip"] == 1.0
    assert "grad_clip" not in resolve(TrainRequest("tiny"), RECIPE, None, None).as_dict()


def test_resume_keeps_the_stored_settings_and_refuses_a_contradiction(tmp_path):
    stored = {**json.loads(STORED_0_1_0), "future_key": [1]}
    cfg = resolve(TrainRequest("tiny", epochs=5, workers=2, segment_seconds=1.0), RECIPE, stored, tmp_path)
    assert (cfg.epochs, cfg.workers, cfg.lr, cfg.max_train_segments) == (5, 2, 0.01, 12)
    assert cfg.as_dict()["future_key"] == [1]  # a key this version does not know is carried along
    with pytest.raises(TrainingError, match=r"used lr=0\.01, not 0\.1; pass the same options"):
        resolve(TrainRequest("tiny", lr=0.1, segment_seconds=1.0), RECIPE, stored, tmp_path)
    with pytest.raises(TrainingError, match="segment_seconds=1.0, not 5.0"):
        resolve(TrainRequest("tiny"), RECIPE, stored, tmp_path)


def test_epochs_below_one_are_refused():
    with pytest.raises(TrainingError, match="epochs must be at least 1"):
        resolve(TrainRequest("tiny"), {**RECIPE, "epochs": 0}, None, None)


def test_train_keeps_its_keyword_options():
    """``train(...)``'s keywords are exactly the request's fields (api, gridsearch and benchmarks call it)."""
    import dataclasses
    import inspect

    from musiclatent.training.trainer import train

    params = list(inspect.signature(train).parameters)
    assert params == [f.name for f in dataclasses.fields(TrainRequest)]
