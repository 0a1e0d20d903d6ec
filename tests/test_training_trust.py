"""Issue 13, training/CLI half: non-finite training never saves a NaN checkpoint, re-training keeps
the previous run, progress is visible, a too-long segment, an absent device and ``--jobs`` are
handled in one clear line."""

from __future__ import annotations

import io
import json
import re
import sys

import click
import pytest
import torch
from _tiny_arch import PoisonPlugin, TinyPlugin
from click.testing import CliRunner

from musiclatent.cli import cli

torch.set_num_threads(1)

FAST = {"segment_seconds": 1.0, "max_train_segments": 12, "progress": False, "charts": False}  # 3 batches of 4


@pytest.fixture
def tiny_arch(fresh_plugins):
    fresh_plugins.register_plugin(TinyPlugin(), name="tiny-test")
    fresh_plugins.register_plugin(PoisonPlugin(), name="tiny-poison")
    yield "tiny"


def _train(tmp_path, corpus, model="tiny", **kw):
    from musiclatent.training.trainer import train

    return train(model, workspace=tmp_path / "ws", data=corpus, **{**FAST, **kw})


def _checkpoint_epoch_and_finite(path):
    from safetensors.torch import load_file

    from musiclatent.checkpoint import read_metadata

    weights = load_file(str(path))
    return read_metadata(path)["epoch"], all(torch.isfinite(t).all() for t in weights.values())


# --------------------------------------------------------------------------- non-finite training
def test_a_nan_gradient_stops_at_its_batch_and_best_and_last_stay_the_good_epoch(tmp_path, tiny_corpus, tiny_arch):
    from musiclatent.training.trainer import TrainingError

    run = tmp_path / "ws" / "runs" / "tiny-poisoned" / "run-001"
    with pytest.raises(TrainingError) as err:  # batch 5 = epoch 2, batch 2 (3 batches per epoch)
        _train(tmp_path, tiny_corpus, "tiny-poisoned", epochs=3, config_overrides={"poison": "grad"})
    message = str(err.value)
    assert "gradient" in message and "non-finite at epoch 2, batch 2 of 3" in message
    assert f"last good checkpoint is epoch 1: {run / 'last.safetensors'}" in message
    assert _checkpoint_epoch_and_finite(run / "best.safetensors") == (1, True)
    assert _checkpoint_epoch_and_finite(run / "last.safetensors") == (1, True)
    assert torch.load(run / "last.state.pt", weights_only=True)["epoch"] == 1
    assert json.loads((run / "run.json").read_text())["status"] == "failed"


def test_a_nan_validation_is_never_saved_as_best_or_last(tmp_path, tiny_corpus, tiny_arch):
    from musiclatent.training.trainer import TrainingError

    with pytest.raises(TrainingError, match="validation loss became nan after epoch 2"):
        _train(tmp_path, tiny_corpus, "tiny-poisoned", epochs=3, config_overrides={"poison": "val", "poison_at": 4})
    run = tmp_path / "ws" / "runs" / "tiny-poisoned" / "run-001"
    assert _checkpoint_epoch_and_finite(run / "best.safetensors") == (1, True)
    assert _checkpoint_epoch_and_finite(run / "last.safetensors") == (1, True)


def test_a_nan_loss_in_the_first_epoch_says_no_checkpoint_was_written(tmp_path, tiny_corpus, tiny_arch):
    from musiclatent.training.trainer import TrainingError

    with pytest.raises(TrainingError, match=r"loss became nan at epoch 1, batch 2 of 3.*no checkpoint was written"):
        _train(tmp_path, tiny_corpus, "tiny-poisoned", epochs=2, config_overrides={"poison": "loss", "poison_at": 2})
    run = tmp_path / "ws" / "runs" / "tiny-poisoned" / "run-001"
    assert not (run / "best.safetensors").exists() and not (run / "last.safetensors").exists()


# --------------------------------------------------------------------------- run folders
def test_training_again_keeps_the_previous_run_and_encode_says_which_it_uses(tmp_path, tiny_corpus, tiny_arch):
    from musiclatent.latents.table import LatentTable
    from musiclatent.workspace import Workspace

    first = _train(tmp_path, tiny_corpus, epochs=1)
    first_bytes = first.best_checkpoint.read_bytes()
    second = _train(tmp_path, tiny_corpus, epochs=1, seed=1)
    models = tmp_path / "ws" / "runs" / "tiny"
    assert (first.run_dir, second.run_dir) == (models / "run-001", models / "run-002")
    assert first.best_checkpoint.read_bytes() == first_bytes  # untouched by the second run
    resumed = _train(tmp_path, tiny_corpus, epochs=2, seed=1, resume=True)  # continues the newest
    assert resumed.run_dir == second.run_dir and resumed.epochs_completed == 2

    runner = CliRunner()
    res = runner.invoke(cli, ["encode", "--model", "tiny", "--data", str(tiny_corpus), "--segment-seconds", "1",
                              "--device", "cpu", "-q"])
    assert res.exit_code == 0, res.output
    assert f"using {second.run_dir / 'best.safetensors'} (epoch 2, validation loss" in res.stderr
    table = LatentTable.open(tmp_path / "ws" / "latents" / "tiny.parquet")
    assert table.metadata["checkpoint"] == str(second.run_dir / "best.safetensors")
    res = runner.invoke(cli, ["decode", "--track", table.track_ids()[0], "--out", str(tmp_path / "t.wav")])
    assert res.exit_code == 0, res.output
    assert f"using {second.run_dir / 'best.safetensors'} (epoch 2" in res.stderr

    # a newest run without a checkpoint (failed in epoch 1): the previous run's best is used, never a missing file
    (second.run_dir / "best.safetensors").unlink()
    ws = Workspace.open(tmp_path / "ws")
    assert ws.best_checkpoint("tiny") == first.best_checkpoint


def test_runs_are_ordered_by_number_after_a_legacy_one_folder_run(tmp_path):
    from musiclatent.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    folder = ws.model_runs_dir("m")
    assert ws.runs("m") == [] and ws.latest_run("m") is None
    folder.mkdir(parents=True)
    (folder / "best.safetensors").write_bytes(b"legacy")  # the layout before numbered runs
    for name in ("run-010", "run-002", "notes"):
        (folder / name).mkdir()
    assert ws.runs("m") == [folder, folder / "run-002", folder / "run-010"]
    assert ws.new_run_dir("m") == folder / "run-011" and (folder / "run-011").is_dir()
    assert ws.best_checkpoint("m") == folder / "best.safetensors"  # no numbered run has one yet


def test_an_out_folder_holding_a_run_is_refused_without_resume_or_overwrite(tmp_path, tiny_corpus, tiny_arch):
    from musiclatent.training.trainer import TrainingError

    out = tmp_path / "mine"
    _train(tmp_path, tiny_corpus, epochs=1, out_dir=out)
    before = (out / "best.safetensors").read_bytes()
    with pytest.raises(TrainingError, match="already holds a run .*--resume.*--overwrite"):
        _train(tmp_path, tiny_corpus, epochs=1, out_dir=out, seed=3)
    assert (out / "best.safetensors").read_bytes() == before
    again = _train(tmp_path, tiny_corpus, epochs=1, out_dir=out, seed=3, overwrite=True)
    assert again.run_dir == out and (out / "best.safetensors").read_bytes() != before


# --------------------------------------------------------------------------- progress
def test_train_prints_a_line_per_epoch_and_a_per_epoch_bar_on_a_terminal(tmp_path, tiny_corpus, tiny_arch,
                                                                          monkeypatch):
    res = CliRunner().invoke(cli, ["train", "--model", "tiny", "--data", str(tiny_corpus), "--epochs", "2",
                                   "--segment-seconds", "1", "--max-segments", "8"])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.stderr.splitlines() if line.startswith("tiny epoch ")]
    assert [line.split(":")[0] for line in lines] == ["tiny epoch 1/2", "tiny epoch 2/2"]
    number = r"[-+0-9.e]+"
    assert re.fullmatch(rf"tiny epoch 1/2: train loss {number}, validation loss {number} \(best\), [0-9.]+ s, "
                        r"about \d+ s to go", lines[0]), lines[0]
    assert re.fullmatch(rf"tiny epoch 2/2: train loss {number}, validation loss {number}( \(best\))?, [0-9.]+ s",
                        lines[1]), lines[1]
    quiet = CliRunner().invoke(cli, ["train", "--model", "tiny", "--data", str(tiny_corpus), "--epochs", "1",
                                     "--segment-seconds", "1", "--max-segments", "4", "-q"])
    assert quiet.exit_code == 0 and "epoch 1/1" not in quiet.stderr

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setenv("COLUMNS", "200")  # tqdm's size of a "terminal" without one
    monkeypatch.setenv("LINES", "50")
    _train(tmp_path, tiny_corpus, epochs=1, progress=True)
    shown = screen.getvalue()
    assert "tiny epoch 1/1" in shown and "seg/s" in shown and "loss=" in shown


# --------------------------------------------------------------------------- segment length
def test_segment_longer_than_every_track_is_refused_in_train_and_encode(tmp_path, tiny_corpus, tiny_arch,
                                                                         fresh_plugins):
    from latent_fakes import FAKE, make_corpus, register_fake, save_fake_checkpoint

    from musiclatent.corpus.segments import check_segment_length
    from musiclatent.training.trainer import TrainingError

    with pytest.raises(TrainingError, match=r"longer than every track \(the longest is 3.00 s\)"):
        _train(tmp_path, tiny_corpus, epochs=1, segment_seconds=10.0)
    assert not (tmp_path / "ws" / "runs" / "tiny").exists()  # no empty run folder left behind
    assert "1 of 2 tracks are shorter" in check_segment_length([2.0, 6.0], 5.0)
    assert check_segment_length([5.0, 6.0], 5.0) is None

    register_fake(fresh_plugins)
    root = make_corpus(tmp_path / "short", seconds=2.0)
    save_fake_checkpoint(tmp_path / "ws" / "runs" / FAKE / "best.safetensors", segment_seconds=4.0)
    res = CliRunner().invoke(cli, ["encode", "--model", FAKE, "--data", str(root), "-q"])
    assert res.exit_code == 1 and "longer than every track (the longest is 2.00 s)" in res.output
    assert "trained on" in res.output and "Traceback" not in res.output


# --------------------------------------------------------------------------- devices and spellings
def test_an_absent_or_unknown_device_is_one_line_naming_the_available_ones(tmp_path, tiny_corpus, tiny_arch):
    from musiclatent.devices import available_devices

    absent = "cuda:99" if torch.cuda.is_available() else "cuda"
    runner = CliRunner()
    for device in ("gpu", absent):
        for argv in (["train", "--model", "tiny", "--data", str(tiny_corpus)],
                     ["encode", "--model", "tiny", "--data", str(tiny_corpus)],
                     ["decode", "--track", "x"], ["evaluate", "--model", "tiny"]):
            res = runner.invoke(cli, [*argv, "--device", device])
            assert res.exit_code == 1, (argv, res.output)
            assert res.output.strip().splitlines() == [
                f"Error: --device: device {device!r} is not available on this machine; available: auto, "
                + ", ".join(available_devices())], argv


def test_every_device_option_has_one_default_and_one_wording():
    from musiclatent.cli import COMMANDS

    ctx = cli.make_context("musiclatent", ["--help"], resilient_parsing=True)
    found = {}

    def walk(command, name):
        for param in command.params:
            if param.name == "device":
                found[name] = (param.default, param.help)
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                walk(command.get_command(ctx, sub), f"{name} {sub}")

    for name in COMMANDS:
        walk(cli.get_command(ctx, name), name)
    from musiclatent.plugins import get_registry

    assert {"train", "gridsearch", "encode", "decode", "evaluate"} <= set(found)
    assert any(name.startswith("analyze") for name in found) or not get_registry().analyses
    assert len(set(found.values())) == 1 and next(iter(found.values()))[0] == "auto", found


def test_scan_takes_workers_and_the_old_jobs_spelling_still_works_with_a_warning(tmp_path):
    from latent_fakes import make_corpus

    root = make_corpus(tmp_path / "c", genres=("blues", "jazz"), seconds=1.0)
    runner = CliRunner()
    res = runner.invoke(cli, ["corpus", "scan", str(root), "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    old = runner.invoke(cli, ["corpus", "scan", str(root), "--jobs", "1", "--json"])
    assert old.exit_code == 0 and "--jobs is deprecated, use --workers" in old.stderr
    assert "--jobs" not in runner.invoke(cli, ["corpus", "scan", "--help"]).output


# --------------------------------------------------------------------------- gradient clipping
class _ClippedPlugin:
    from musiclatent.hookspecs import hookimpl as _hookimpl

    @_hookimpl
    def register_architectures(self, register):
        from _tiny_arch import TINY_RECIPE, TinyAE

        from musiclatent.registry import ArchitectureSpec

        register(ArchitectureSpec(name="tiny-clipped", description="test model with clipped gradients",
                                  factory=TinyAE, defaults={"channels": 2, "dropout": 0.1},
                                  recipe={**TINY_RECIPE, "grad_clip": 1e-3}))


def test_a_recipe_grad_clip_bounds_every_step_and_is_recorded(tmp_path, tiny_corpus, fresh_plugins, monkeypatch):
    from musiclatent.checkpoint import read_metadata

    fresh_plugins.register_plugin(_ClippedPlugin(), name="tiny-clipped")
    fresh_plugins.register_plugin(TinyPlugin(), name="tiny-test")
    norms, real = [], torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *a, **kw):
        params = list(params)
        total = real(params, max_norm, *a, **kw)
        after = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params if p.grad is not None]))
        norms.append((float(total), float(after), max_norm))
        return total

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    result = _train(tmp_path, tiny_corpus, "tiny-clipped", epochs=1)
    assert len(norms) == 3                                   # one per batch (3 batches of 4)
    assert all(after <= 1e-3 * 1.01 and before > after for before, after, _ in norms)
    assert read_metadata(result.best_checkpoint)["training"]["grad_clip"] == 1e-3
    plain = _train(tmp_path, tiny_corpus, "tiny", epochs=1)  # a recipe without it: no clipping, no key
    assert len(norms) == 3
    assert "grad_clip" not in read_metadata(plain.best_checkpoint)["training"]
