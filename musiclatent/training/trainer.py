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

The options are a ``TrainRequest``, resolved with the architecture's recipe (or the resumed run's
stored settings) into a ``TrainConfig`` (``musiclatent.training.config``). Data order depends only on ``(seed, epoch)`` and all RNG states are restored on resume, so a run
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

from musiclatent.fileio import atomic_write_json
from musiclatent.training import data as rundata
from musiclatent.training import guard
from musiclatent.training.config import (
    RESUME_KEYS,
    TrainConfig,
    TrainingError,
    TrainRequest,
    resolve,
)
from musiclatent.training.state import (
    STATE_VERSION,
    MetricsLog,
    plain,
    rng_state,
    seed_everything,
    set_rng_state,
)


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
    loss, keeping the last good checkpoints. The options are a ``TrainRequest``; ``run_training``
    takes one directly.
    """
    return run_training(TrainRequest(
        model=model, workspace=workspace, data=data, out_dir=out_dir, epochs=epochs, lr=lr,
        batch_size=batch_size, eval_batch_size=eval_batch_size, segment_seconds=segment_seconds, loss=loss,
        device=device, resume=resume, seed=seed, workers=workers, max_train_segments=max_train_segments,
        config_overrides=config_overrides, progress=progress, time_budget_s=time_budget_s, charts=charts,
        cache=cache, overwrite=overwrite, log=log, init_from=init_from))


@dataclass
class _Run:
    """One training run in progress: what every step reads, and the history it grows."""

    request: TrainRequest
    cfg: TrainConfig
    spec: Any
    run_dir: Path
    dev: Any
    sets: dict[str, Any]
    train_set: Any
    started: float
    log: Callable[[str], None] | None
    net: Any = None
    optimizer: Any = None
    scheduler: Any = None
    loss_fn: Any = None
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=lambda: {"epoch": None, "val_loss": math.inf})
    resumed: bool = False
    initialised_from: dict[str, str] | None = None
    reference: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def say(self) -> Callable[[str], None] | None:
        """Where per-epoch lines go (they are progress); warnings always reach ``log``."""
        return self.log if self.request.progress else None

    @property
    def state_path(self) -> Path:
        return self.run_dir / "last.state.pt"

    def stopped(self, what: str) -> TrainingError:
        return _stopped(what, self.run_dir, self.history, self.best)

    def checkpoint_meta(self) -> dict[str, Any]:
        return {"model_name": self.cfg.model, "training": plain(self.cfg.as_dict()),
                **({"initialised_from": self.initialised_from} if self.initialised_from else {})}


def run_training(request: TrainRequest) -> TrainResult:
    """Train as ``request`` says (``train``'s options as one frozen object)."""
    from musiclatent.devices import release_memory

    run = _prepare(request, time.time())
    status = "already_done" if len(run.history) >= run.cfg.epochs else "finished"
    try:
        status = _epochs(run, status)
    except BaseException as exc:
        run.info.update(status="failed" if isinstance(exc, Exception) else "interrupted",
                        error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        _finish(run, status)
        run.net = run.optimizer = run.scheduler = run.loss_fn = None
        release_memory()
    best = run.best
    return TrainResult(run_dir=run.run_dir, model=request.model, status=status,
                       epochs_completed=len(run.history), history=run.history, best_epoch=best["epoch"],
                       best_val_loss=best["val_loss"] if best["epoch"] else None, device=str(run.dev),
                       seconds=run.info["seconds"])


def _prepare(request: TrainRequest, started: float) -> _Run:
    """Everything before the first epoch: settings, data, run folder, model, run.json."""
    from musiclatent.checkpoint import load_training_state
    from musiclatent.devices import select_device
    from musiclatent.plugins import get_registry

    log = request.log if request.log is not None or not request.progress else _stderr
    ws = _workspace(request.workspace)
    spec = get_registry().architecture(request.model)
    run_dir = _choose_run_dir(ws, request.model, request.out_dir, request.resume, request.overwrite)
    state_path = run_dir / "last.state.pt" if run_dir is not None else None
    state = None
    if request.resume and state_path is not None and state_path.exists():
        state = load_training_state(state_path)
    cfg = resolve(request, dict(spec.recipe), state["config"] if state is not None else None, run_dir)
    dev = select_device(request.device)
    sets = rundata.load_datasets(ws, request.data, spec.sample_rate, cfg.segment_seconds,
                                 progress=request.progress, cache=request.cache)
    _check_segment_length(sets, cfg.segment_seconds, log)
    train_set = rundata.subset(sets["train"], cfg.max_train_segments, cfg.seed)
    if len(train_set) == 0 or len(sets["validation"]) == 0:
        raise TrainingError(f"the corpus in {sets['root']} has no train or no validation segments; "
                            "add tracks or use shorter --segment-seconds")
    if run_dir is None:
        run_dir = ws.new_run_dir(request.model)
    run_dir.mkdir(parents=True, exist_ok=True)
    run = _Run(request=request, cfg=cfg, spec=spec, run_dir=run_dir, dev=dev, sets=sets, train_set=train_set,
               started=started, log=log)
    _build(run, state)
    run.reference = rundata.reference_segment(sets)
    rundata.write_original(run_dir, run.reference, spec.sample_rate)
    _start_info(run)
    return run


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _build(run: _Run, state: dict[str, Any] | None) -> None:
    """Seed, build the model, optimiser, scheduler and loss; restore ``state`` (resume) or start fresh."""
    from musiclatent.losses import build_loss

    cfg, dev = run.cfg, run.dev
    log_file = MetricsLog(run.run_dir / "metrics.jsonl")
    seed_everything(cfg.seed)
    run.net = run.spec.build(**cfg.config_overrides).to(dev)
    run.optimizer = _optimizer(cfg.optimizer, run.net.parameters(), cfg.lr)
    run.scheduler = _scheduler(cfg.scheduler, run.optimizer, cfg.epochs)
    run.loss_fn = build_loss(cfg.loss, run.spec.sample_rate).to(dev)
    if state is not None:
        run.net.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        run.scheduler.load_state_dict(state["scheduler"])
        run.history, run.best = list(state["history"]), dict(state["best"])
        run.resumed = True
        set_rng_state(state["rng"])
        log_file.rewrite(run.history)
    else:
        init_from = run.request.init_from
        run.initialised_from = _initialise(run.net, cfg.model, init_from) if init_from is not None else None
        rundata.clear_run_outputs(run.run_dir)


def _start_info(run: _Run) -> None:
    """Write run.json (status ``running``) and say where the run trains."""
    spec, start_epoch = run.spec, len(run.history)
    run.info = {"model": run.cfg.model, "description": spec.description, "plugin": spec.plugin,
                "config": plain({**dict(spec.defaults), **run.cfg.config_overrides}), "recipe": plain(dict(spec.recipe)),
                "training": plain(run.cfg.as_dict()), "data": run.sets["info"], "device": str(run.dev),
                "parameters": sum(p.numel() for p in run.net.parameters()), "torch": torch.__version__, "pid": os.getpid(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "status": "running",
                "reference": run.reference["meta"], "resumed_from_epoch": start_epoch if run.resumed else None,
                "initialised_from": run.initialised_from}
    atomic_write_json(run.run_dir / "run.json", run.info)
    if run.say is not None:
        run.say(f"{run.cfg.model}: run folder {run.run_dir}"
                + (f", resumed after epoch {start_epoch}" if run.resumed else "") + f", on {run.dev}")


def _epochs(run: _Run, status: str) -> str:
    """Train the remaining epochs; the final status (``time_budget`` when the budget cut one)."""
    cfg = run.cfg
    loader = rundata.make_train_loader(run.train_set, cfg.batch_size, cfg.workers, cfg.seed)
    start_epoch = len(run.history)
    loop_started = time.time()
    for epoch in range(start_epoch + 1, cfg.epochs + 1):
        loader.sampler.set_epoch(epoch)
        run.net.train()
        lr_now = run.optimizer.param_groups[0]["lr"]
        t_epoch = time.perf_counter()
        pass_ = _train_pass(run, loader, epoch)
        row = _end_epoch(run, epoch, pass_, lr_now, t_epoch)
        if run.say is not None:
            run.say(_epoch_line(cfg.model, row, cfg.epochs, run.best, pass_.partial, time.time() - loop_started,
                                epoch - start_epoch))
        if pass_.partial:
            return "time_budget"
    return status


@dataclass
class _Pass:
    """One epoch's pass over the training data: the summed loss, segments, and where time went."""

    total: float = 0.0
    seen: int = 0
    wait: float = 0.0
    compute: float = 0.0
    partial: bool = False


def _train_pass(run: _Run, loader, epoch: int) -> _Pass:
    """One pass over ``loader`` (stopped early, ``partial``, by the time budget)."""
    cfg, net, optimizer, budget = run.cfg, run.net, run.optimizer, run.request.time_budget_s
    done = _Pass()
    clock = time.perf_counter()
    bar = rundata.progress_bar(total=len(run.train_set), desc=f"{cfg.model} epoch {epoch}/{cfg.epochs}",
                               enabled=run.request.progress)
    try:
        for batch_index, (wave, _labels, _meta) in enumerate(loader):
            got = time.perf_counter()
            done.wait += got - clock
            wave = wave.to(run.dev, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            value = run.loss_fn(net(wave), wave)
            aux = getattr(net, "aux_loss", None)  # e.g. a VQ commitment or VAE KL term
            if aux is not None:
                value = value + aux
            item = float(value.detach())
            _step(run, value, item, f"at epoch {epoch}, batch {batch_index + 1} of {len(loader)}")
            done.total += item * wave.shape[0]
            done.seen += wave.shape[0]
            clock = time.perf_counter()
            done.compute += clock - got
            bar.update(wave.shape[0])
            bar.set_postfix(loss=f"{done.total / done.seen:.4g}", refresh=batch_index == 0)  # shown from batch 1
            if budget is not None and time.time() - run.started > budget:
                done.partial = True
                break
    finally:
        bar.close()
    return done


def _step(run: _Run, value: torch.Tensor, item: float, where: str) -> None:
    """Backpropagate ``value`` and step the optimiser; refuse a non-finite loss or gradient."""
    if not math.isfinite(item):
        raise run.stopped(f"loss became {item} {where}")
    value.backward()
    bad = guard.nonfinite_gradient(run.net)
    if bad is not None:
        raise run.stopped(f"the gradient of {bad} became non-finite {where} (loss {item:.6g})")
    if run.cfg.grad_clip:  # global-norm clipping (DAC / EnCodec / Vocos clip too)
        torch.nn.utils.clip_grad_norm_(run.net.parameters(), run.cfg.grad_clip)
    run.optimizer.step()


def _end_epoch(run: _Run, epoch: int, done: _Pass, lr_now: float, t_epoch: float) -> dict[str, Any]:
    """Step the scheduler, validate, write the reconstruction, the checkpoints, metrics and state."""
    from musiclatent.checkpoint import save_checkpoint, save_training_state

    net, sample_rate = run.net, run.spec.sample_rate
    run.scheduler.step()
    bad = guard.nonfinite_weight(net)
    if bad is not None:
        raise run.stopped(f"{bad} became non-finite after epoch {epoch}")
    val = rundata.validate(net, run.sets["validation"], run.loss_fn, run.cfg.eval_batch_size, run.dev, sample_rate)
    if not math.isfinite(val["val_loss"]):
        raise run.stopped(f"validation loss became {val['val_loss']} after epoch {epoch}")
    recon = rundata.write_reconstruction(run.run_dir, net, run.reference, epoch, run.dev, sample_rate)
    row = {"epoch": epoch, "train_loss": done.total / max(done.seen, 1), **val, "lr": lr_now,
           "train_segments": done.seen, "data_wait_s": round(done.wait, 4), "compute_s": round(done.compute, 4),
           "epoch_s": round(time.perf_counter() - t_epoch, 4),
           "segments_per_s": round(done.seen / max(done.wait + done.compute, 1e-9), 3), "recon_si_sdr": recon}
    if done.partial:
        row["partial"] = True
    run.history.append(row)
    meta = run.checkpoint_meta()
    if val["val_loss"] < run.best["val_loss"]:
        run.best = {"epoch": epoch, "val_loss": val["val_loss"]}
        save_checkpoint(run.run_dir / "best.safetensors", net, epoch=epoch, metrics=row, **meta)
    save_checkpoint(run.run_dir / "last.safetensors", net, epoch=epoch, metrics=row, **meta)
    MetricsLog(run.run_dir / "metrics.jsonl").append(row)
    save_training_state(run.state_path, {
        "version": STATE_VERSION, "epoch": epoch, "config": plain(run.cfg.as_dict()), "model": net.state_dict(),
        "optimizer": run.optimizer.state_dict(), "scheduler": run.scheduler.state_dict(),
        "history": plain(run.history), "best": run.best, "rng": rng_state()})
    return row


def _finish(run: _Run, status: str) -> None:
    """Record how the run ended in run.json (also after an error) and draw its charts."""
    info, best = run.info, run.best
    info.update(finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"), seconds=round(time.time() - run.started, 3),
                epochs_completed=len(run.history), best_epoch=best["epoch"],
                best_val_loss=best["val_loss"] if best["epoch"] else None)
    if info["status"] == "running":
        info["status"] = status
    atomic_write_json(run.run_dir / "run.json", info)
    if run.request.charts and run.history:
        from musiclatent.training.charts import write_run_charts

        write_run_charts(run.run_dir, run.spec.sample_rate, run.history)


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
            warnings.warn(message, stacklevel=5)  # the line calling train()


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


__all__ = ["RESUME_KEYS", "TrainConfig", "TrainRequest", "TrainResult", "TrainingError", "read_run", "run_training",
           "train"]
