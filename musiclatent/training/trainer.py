"""Train one autoencoder: ``train(model, workspace=...)`` -> ``TrainResult``.

Defaults come from the architecture's ``recipe`` (the seed's: MSE, Adam, StepLR(4, 0.5), batch
10 / 20). Each run gets its own folder, ``<workspace>/runs/<model>/run-NNN`` (numbered, never reused:
training again keeps the previous runs; ``resume=True`` continues the newest). A run folder holds::

    run.json                 what was trained, how, on what, where, how long, and its status
    metrics.jsonl            one line per epoch (losses, validation SI-SDR/mel, lr, timings)
    best.safetensors         the best validation epoch's model (musiclatent checkpoint)
    last.safetensors         the last epoch's model
    last.state.pt            everything --resume needs (weights, optimiser, scheduler, RNG, history)
    recon/original.wav       the fixed reference segment, and recon/epoch_NNN.{npy,wav}
    loss_curve.{html,png}    train and validation loss per epoch
    reconstruction.{html,png} log-mel spectrograms of the reference's reconstruction by epoch

Data order depends only on ``(seed, epoch)`` and all RNG states are restored on resume, so a run
resumed after epoch k ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from musiclatent.errors import MusiclatentError
from musiclatent.fileio import atomic_write_json
from musiclatent.training import data as rundata
from musiclatent.training import guard
from musiclatent.training.state import (
    STATE_VERSION,
    MetricsLog,
    plain,
    rng_state,
    seed_everything,
    set_rng_state,
)


class TrainingError(MusiclatentError):
    """Training cannot go on (NaN loss, incompatible resume, empty split ...)."""


RESUME_KEYS = ("model", "lr", "loss", "batch_size", "segment_seconds", "seed", "optimizer", "scheduler",
               "config_overrides", "max_train_segments")


@dataclass
class TrainResult:
    """What a training run produced."""

    run_dir: Path
    model: str
    status: str  # finished | time_budget | already_done
    epochs_completed: int
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    best_val_loss: float | None = None
    device: str = "cpu"
    seconds: float = 0.0

    @property
    def best_checkpoint(self) -> Path:
        return self.run_dir / "best.safetensors"

    @property
    def last_checkpoint(self) -> Path:
        return self.run_dir / "last.safetensors"


def _optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    table = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    if name not in table:
        raise TrainingError(f"unknown optimizer {name!r}; known: {', '.join(table)}")
    return table[name](params, lr=lr)


def _scheduler(spec: dict[str, Any] | None, optimizer, epochs: int):
    spec = dict(spec or {"name": "none"})
    name = spec.pop("name", "none")
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=int(spec.get("step_size", 4)),
                                               gamma=float(spec.get("gamma", 0.5)))
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    if name in ("none", "constant"):
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _e: 1.0)
    raise TrainingError(f"unknown scheduler {name!r}; known: step, cosine, none")


def _workspace(workspace):
    from musiclatent.workspace import Workspace

    return workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)


def _initialise(net, model: str, checkpoint) -> dict[str, str]:
    """Load ``checkpoint``'s weights into the freshly built ``net`` (fine-tuning); what was loaded."""
    from musiclatent.checkpoint import CheckpointError, load_checkpoint
    from musiclatent.fileio import sha256_file

    try:
        source, meta = load_checkpoint(checkpoint)
    except CheckpointError as exc:
        raise TrainingError(str(exc)) from None
    if meta.get("arch") != model:
        raise TrainingError(f"{checkpoint}: weights of {meta.get('arch')!r}, not {model!r}; fine-tune the same model")
    try:
        net.load_state_dict(source.state_dict(), strict=True)
    except RuntimeError:
        raise TrainingError(
            f"{checkpoint}: its {model} config {meta.get('config')} does not match this run's "
            "(drop the --set overrides to fine-tune it)") from None
    return {"checkpoint": str(checkpoint), "sha256": sha256_file(checkpoint)}


def train(model: str, *, workspace=None, data=None, out_dir=None, epochs: int | None = None,
          lr: float | None = None, batch_size: int | None = None, eval_batch_size: int | None = None,
          segment_seconds: float = 5.0, loss: str | None = None, device: str = "auto", resume: bool = False,
          seed: int = 0, workers: int = 0, max_train_segments: int | None = None,
          config_overrides: dict[str, Any] | None = None, progress: bool = True,
          time_budget_s: float | None = None, charts: bool = True, cache: bool = True, overwrite: bool = False,
          log: Callable[[str], None] | None = None, init_from: str | os.PathLike | None = None) -> TrainResult:
    """Train ``model`` (a registered architecture name) and write its run folder.

    ``None`` options take the architecture recipe's value (on ``resume``: the interrupted run's).
    Without ``out_dir`` each call trains into a new ``runs/<model>/run-NNN`` folder; ``resume=True``
    continues the newest run at its next epoch (starting a new run when there is none to resume).
    An ``out_dir`` that already holds a run is refused unless ``resume`` or ``overwrite``.
    ``time_budget_s`` stops after that much wall time (the epoch in progress is validated, saved and
    marked ``partial``). ``cache=False`` decodes audio on demand instead of using the workspace's
    decoded-audio cache (slower; for benchmarks). ``progress`` shows a per-epoch bar (on a
    terminal) and sends the run folder and one line per finished epoch to ``log(line)``, which also
    gets any warning (default: stderr when ``progress``; else warnings go to ``warnings.warn``).
    ``init_from`` (a checkpoint of the same architecture and config, e.g. the shipped pretrained
    one) starts a new run from its weights instead of a random initialisation (fine-tuning; ignored
    when resuming). Raises ``TrainingError`` on a non-finite loss, gradient, weight or validation
    loss, keeping the last good checkpoints.
    """
    from musiclatent.checkpoint import load_training_state, save_checkpoint, save_training_state
    from musiclatent.losses import build_loss
    from musiclatent.model import count_parameters, release_memory, select_device
    from musiclatent.plugins import get_registry

    started = time.time()
    if log is None and progress:
        def log(line: str) -> None:
            print(line, file=sys.stderr, flush=True)
    say = log if progress else None  # per-epoch lines are progress; warnings always reach ``log``
    ws = _workspace(workspace)
    spec = get_registry().architecture(model)
    run_dir = _choose_run_dir(ws, model, out_dir, resume, overwrite)
    recipe = dict(spec.recipe)
    asked = {"model": model, "lr": lr, "loss": loss, "batch_size": batch_size,
             "segment_seconds": float(segment_seconds), "seed": int(seed), "optimizer": None,
             "scheduler": None, "config_overrides": dict(config_overrides or {}),
             "max_train_segments": max_train_segments}
    state = None
    state_path = run_dir / "last.state.pt" if run_dir is not None else None
    if resume and state_path is not None and state_path.exists():
        state = load_training_state(state_path)
        stored = state["config"]
        for key in RESUME_KEYS:
            if asked.get(key) is not None and key in stored and asked[key] != stored[key] and key not in (
                    "optimizer", "scheduler"):
                raise TrainingError(
                    f"{run_dir}: the run being resumed used {key}={stored[key]!r}, not {asked[key]!r}; "
                    "pass the same options, or drop --resume to start over")
        cfg = {**stored, "epochs": int(epochs or stored["epochs"]),
               "eval_batch_size": int(eval_batch_size or stored["eval_batch_size"]), "workers": int(workers)}
    else:
        cfg = {**asked, "lr": float(lr or recipe.get("lr", 1e-3)), "loss": loss or recipe.get("loss", "mse"),
               "batch_size": int(batch_size or recipe.get("batch_size", 10)),
               "eval_batch_size": int(eval_batch_size or recipe.get("eval_batch_size", 20)),
               "epochs": int(epochs or recipe.get("epochs", 30)), "optimizer": recipe.get("optimizer", "adam"),
               "scheduler": plain(recipe.get("scheduler", {"name": "none"})), "workers": int(workers)}
        if recipe.get("grad_clip") is not None:  # recorded only when a recipe asks (older runs stay byte-equal)
            cfg["grad_clip"] = float(recipe["grad_clip"])
    if cfg["epochs"] < 1:
        raise TrainingError("epochs must be at least 1")

    dev = select_device(device)
    sets = rundata.load_datasets(ws, data, spec.sample_rate, cfg["segment_seconds"], progress=progress,
                                 cache=cache)
    _check_segment_length(sets, cfg["segment_seconds"], log)
    train_set = rundata.subset(sets["train"], cfg["max_train_segments"], cfg["seed"])
    if len(train_set) == 0 or len(sets["validation"]) == 0:
        raise TrainingError(f"the corpus in {sets['root']} has no train or no validation segments; "
                            "add tracks or use shorter --segment-seconds")
    if run_dir is None:
        run_dir = ws.new_run_dir(model)
        state_path = run_dir / "last.state.pt"
    run_dir.mkdir(parents=True, exist_ok=True)
    log_file = MetricsLog(run_dir / "metrics.jsonl")

    seed_everything(cfg["seed"])
    net = spec.build(**cfg["config_overrides"]).to(dev)
    optimizer = _optimizer(cfg["optimizer"], net.parameters(), cfg["lr"])
    scheduler = _scheduler(cfg["scheduler"], optimizer, cfg["epochs"])
    loss_fn = build_loss(cfg["loss"], spec.sample_rate).to(dev)
    history: list[dict[str, Any]] = []
    best = {"epoch": None, "val_loss": math.inf}
    initialised_from = None
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history, best = list(state["history"]), dict(state["best"])
        set_rng_state(state["rng"])
        log_file.rewrite(history)
    else:
        initialised_from = _initialise(net, model, init_from) if init_from is not None else None
        rundata.clear_run_outputs(run_dir)
    start_epoch = len(history)
    reference = rundata.reference_segment(sets)
    rundata.write_original(run_dir, reference, spec.sample_rate)

    info = {"model": model, "description": spec.description, "plugin": spec.plugin,
            "config": plain({**dict(spec.defaults), **cfg["config_overrides"]}), "recipe": plain(recipe),
            "training": plain(cfg), "data": sets["info"], "device": str(dev),
            "parameters": count_parameters(net), "torch": torch.__version__, "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "status": "running",
            "reference": reference["meta"], "resumed_from_epoch": start_epoch if state is not None else None,
            "initialised_from": initialised_from}
    atomic_write_json(run_dir / "run.json", info)
    if say is not None:
        say(f"{model}: run folder {run_dir}"
            + (f", resumed after epoch {start_epoch}" if state is not None else "") + f", on {dev}")

    loader = rundata.make_train_loader(train_set, cfg["batch_size"], cfg["workers"], cfg["seed"])
    status = "already_done" if start_epoch >= cfg["epochs"] else "finished"
    bar = None
    checkpoint_meta = {"model_name": model, "training": plain(cfg),
                       **({"initialised_from": initialised_from} if initialised_from else {})}
    loop_started = time.time()
    try:
        for epoch in range(start_epoch + 1, cfg["epochs"] + 1):
            loader.sampler.set_epoch(epoch)
            net.train()
            lr_now = optimizer.param_groups[0]["lr"]
            t_epoch = time.perf_counter()
            wait = compute = total = 0.0
            seen = 0
            partial = False
            clock = time.perf_counter()
            bar = rundata.progress_bar(total=len(train_set), desc=f"{model} epoch {epoch}/{cfg['epochs']}",
                                       enabled=progress)
            for batch_index, (wave, _labels, _meta) in enumerate(loader):
                got = time.perf_counter()
                wait += got - clock
                wave = wave.to(dev, non_blocking=True)
                optimizer.zero_grad(set_to_none=True)
                value = loss_fn(net(wave), wave)
                aux = getattr(net, "aux_loss", None)  # e.g. a VQ commitment or VAE KL term
                if aux is not None:
                    value = value + aux
                item = float(value.detach())
                where = f"at epoch {epoch}, batch {batch_index + 1} of {len(loader)}"
                if not math.isfinite(item):
                    raise _stopped(f"loss became {item} {where}", run_dir, history, best)
                value.backward()
                bad = guard.nonfinite_gradient(net)
                if bad is not None:
                    raise _stopped(f"the gradient of {bad} became non-finite {where} (loss {item:.6g})",
                                   run_dir, history, best)
                if cfg.get("grad_clip"):  # global-norm clipping (DAC / EnCodec / Vocos clip too)
                    torch.nn.utils.clip_grad_norm_(net.parameters(), cfg["grad_clip"])
                optimizer.step()
                total += item * wave.shape[0]
                seen += wave.shape[0]
                clock = time.perf_counter()
                compute += clock - got
                bar.update(wave.shape[0])
                bar.set_postfix(loss=f"{total / seen:.4g}", refresh=batch_index == 0)  # shown from batch 1
                if time_budget_s is not None and time.time() - started > time_budget_s:
                    partial = True
                    break
            bar.close()
            scheduler.step()
            bad = guard.nonfinite_weight(net)
            if bad is not None:
                raise _stopped(f"{bad} became non-finite after epoch {epoch}", run_dir, history, best)
            val = rundata.validate(net, sets["validation"], loss_fn, cfg["eval_batch_size"], dev, spec.sample_rate)
            if not math.isfinite(val["val_loss"]):
                raise _stopped(f"validation loss became {val['val_loss']} after epoch {epoch}", run_dir,
                               history, best)
            recon = rundata.write_reconstruction(run_dir, net, reference, epoch, dev, spec.sample_rate)
            row = {"epoch": epoch, "train_loss": total / max(seen, 1), **val, "lr": lr_now,
                   "train_segments": seen, "data_wait_s": round(wait, 4), "compute_s": round(compute, 4),
                   "epoch_s": round(time.perf_counter() - t_epoch, 4),
                   "segments_per_s": round(seen / max(wait + compute, 1e-9), 3), "recon_si_sdr": recon}
            if partial:
                row["partial"] = True
            history.append(row)
            if val["val_loss"] < best["val_loss"]:
                best = {"epoch": epoch, "val_loss": val["val_loss"]}
                save_checkpoint(run_dir / "best.safetensors", net, epoch=epoch, metrics=row, **checkpoint_meta)
            save_checkpoint(run_dir / "last.safetensors", net, epoch=epoch, metrics=row, **checkpoint_meta)
            log_file.append(row)
            save_training_state(state_path, {
                "version": STATE_VERSION, "epoch": epoch, "config": plain(cfg), "model": net.state_dict(),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "history": plain(history), "best": best, "rng": rng_state()})
            if say is not None:
                say(_epoch_line(model, row, cfg["epochs"], best, partial, time.time() - loop_started,
                                epoch - start_epoch))
            if partial:
                status = "time_budget"
                break
    except BaseException as exc:
        info.update(status="failed" if isinstance(exc, Exception) else "interrupted",
                    error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if bar is not None:
            bar.close()
        info.update(finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"), seconds=round(time.time() - started, 3),
                    epochs_completed=len(history), best_epoch=best["epoch"],
                    best_val_loss=best["val_loss"] if best["epoch"] else None)
        if info["status"] == "running":
            info["status"] = status
        atomic_write_json(run_dir / "run.json", info)
        if charts and history:
            from musiclatent.training.charts import write_run_charts

            write_run_charts(run_dir, spec.sample_rate, history)
        del net, optimizer
        release_memory()
    return TrainResult(run_dir=run_dir, model=model, status=status, epochs_completed=len(history),
                       history=history, best_epoch=best["epoch"],
                       best_val_loss=best["val_loss"] if best["epoch"] else None, device=str(dev),
                       seconds=info["seconds"])


def _choose_run_dir(ws, model: str, out_dir, resume: bool, overwrite: bool) -> Path | None:
    """The run folder to train into; ``None``: a new numbered one, made once the data is checked."""
    if out_dir:
        run_dir = Path(out_dir).expanduser().resolve()
        held = [name for name in ("last.state.pt", "best.safetensors", "last.safetensors")
                if (run_dir / name).exists()]
        if held and not resume and not overwrite:
            raise TrainingError(
                f"{run_dir} already holds a run ({held[0]}); pass --resume to continue it, --overwrite to "
                "replace it, or leave out --out to train into a new runs/<model>/run-NNN folder")
        return run_dir
    if resume:
        latest = ws.latest_run(model)
        if latest is not None and (latest / "last.state.pt").exists():
            return latest
    return None


def _check_segment_length(sets: dict[str, Any], seconds: float, log) -> None:
    import pandas as pd

    from musiclatent.corpus.segments import SegmentLengthError, check_segment_length

    tracks = pd.concat([sets[s].tracks for s in rundata.SPLITS if len(sets[s].tracks)] or [pd.DataFrame()])
    try:
        message = check_segment_length(tracks.get("duration_s", []), seconds)
    except SegmentLengthError as exc:
        raise TrainingError(f"the corpus in {sets['root']}: {exc}") from None
    if message:
        if log is not None:
            log(f"warning: {message}")
        else:
            warnings.warn(message, stacklevel=3)


def _epoch_line(model: str, row: dict[str, Any], epochs: int, best: dict[str, Any], partial: bool,
                elapsed: float, done_now: int) -> str:
    """``alt5 epoch 2/30: train loss X, validation loss Y (best), 64.1 s, about 31m to go``."""
    line = (f"{model} epoch {row['epoch']}/{epochs}: train loss {row['train_loss']:.6g}, validation loss "
            f"{row['val_loss']:.6g}{' (best)' if best['epoch'] == row['epoch'] else ''}, {row['epoch_s']:.1f} s")
    left = epochs - row["epoch"]
    if partial:
        return line + " (cut by the time budget)"
    if left > 0:
        eta = elapsed / max(done_now, 1) * left
        line += f", about {eta / 60:.0f}m to go" if eta >= 90 else f", about {eta:.0f} s to go"
    return line


def _stopped(what: str, run_dir: Path, history: list[dict[str, Any]], best: dict[str, Any]) -> TrainingError:
    return TrainingError(f"{what}; training stopped, nothing of this epoch was saved, and "
                         f"{guard.last_good(run_dir, history, best)}. Try a lower --lr or another --loss")


def read_run(run_dir: str | os.PathLike) -> dict[str, Any]:
    """``run.json`` of a run folder plus its ``history`` from ``metrics.jsonl`` (``{}`` if none)."""
    import json

    run_dir = Path(run_dir)
    try:
        info = json.loads((run_dir / "run.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    info["history"] = MetricsLog(run_dir / "metrics.jsonl").read()
    return info
