"""Typed training options: what a caller asks (``TrainRequest``) and what a run trains with
(``TrainConfig``).

``TrainRequest`` holds every option of ``train(...)`` as given: ``None`` means "the recipe's"
(on resume: "the interrupted run's"). ``resolve`` turns it into a ``TrainConfig``, the settings a
run records (``run.json``'s ``training``, the checkpoints' ``training``, ``last.state.pt``'s
``config``), in one of two ways:

- a new run: the request's values, else the architecture recipe's, else the seed's defaults
  (MSE, Adam, no scheduler, batch 10 / 20, 30 epochs, lr 1e-3);
- a resumed run: the stored config, refusing a request that contradicts it (only ``epochs``,
  ``eval_batch_size`` and ``workers`` may change on resume).

``TrainConfig.as_dict()`` is the exact dict earlier versions stored (same keys, same order;
``grad_clip`` only when a recipe asks), so old runs resume and new files stay byte-equal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from musiclatent.errors import MusiclatentError
from musiclatent.training.state import plain


class TrainingError(MusiclatentError):
    """Training cannot go on (NaN loss, incompatible resume, empty split ...)."""


RESUME_KEYS = ("model", "lr", "loss", "batch_size", "segment_seconds", "seed", "optimizer", "scheduler",
               "config_overrides", "max_train_segments")
# What a caller may not choose on resume without starting over (optimizer and scheduler come from
# the recipe, never from the request).
_CHECKED_ON_RESUME = tuple(k for k in RESUME_KEYS if k not in ("optimizer", "scheduler"))
# The seed report's settings, used where a recipe is silent.
DEFAULTS: dict[str, Any] = {"lr": 1e-3, "loss": "mse", "batch_size": 10, "eval_batch_size": 20, "epochs": 30,
                            "optimizer": "adam", "scheduler": {"name": "none"}}


@dataclass(frozen=True)
class TrainRequest:
    """The options of one ``train`` call, as given (see ``musiclatent.training.trainer.train``)."""

    model: str
    workspace: Any = None
    data: Any = None
    out_dir: Any = None
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    eval_batch_size: int | None = None
    segment_seconds: float = 5.0
    loss: str | None = None
    device: str = "auto"
    resume: bool = False
    seed: int = 0
    workers: int = 0
    max_train_segments: int | None = None
    config_overrides: Mapping[str, Any] | None = None
    progress: bool = True
    time_budget_s: float | None = None
    charts: bool = True
    cache: bool = True
    overwrite: bool = False
    log: Callable[[str], None] | None = None
    init_from: str | os.PathLike | None = None

    def asked(self) -> dict[str, Any]:
        """The settings this request fixes (``None``: not fixed), as a stored config names them."""
        return {"model": self.model, "lr": self.lr, "loss": self.loss, "batch_size": self.batch_size,
                "segment_seconds": float(self.segment_seconds), "seed": int(self.seed), "optimizer": None,
                "scheduler": None, "config_overrides": dict(self.config_overrides or {}),
                "max_train_segments": self.max_train_segments}


@dataclass(frozen=True)
class TrainConfig:
    """The settings a run trains with and records (the ``training`` of run.json and checkpoints)."""

    model: str
    lr: float
    loss: str
    batch_size: int
    segment_seconds: float
    seed: int
    optimizer: str
    scheduler: dict[str, Any]
    config_overrides: dict[str, Any]
    max_train_segments: int | None
    eval_batch_size: int
    epochs: int
    workers: int
    grad_clip: float | None = None  # recorded only when a recipe asks (older runs stay byte-equal)
    extra: dict[str, Any] = field(default_factory=dict)  # keys of a stored config this version does not know

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise TrainingError("epochs must be at least 1")

    @classmethod
    def new(cls, request: TrainRequest, recipe: Mapping[str, Any]) -> TrainConfig:
        """A new run's settings: the request's values, else the recipe's, else ``DEFAULTS``."""
        def pick(name: str) -> Any:
            given = getattr(request, name)
            return given or recipe.get(name, DEFAULTS[name])

        asked = request.asked()
        clip = recipe.get("grad_clip")
        return cls(model=asked["model"], lr=float(pick("lr")), loss=pick("loss"), batch_size=int(pick("batch_size")),
                   segment_seconds=asked["segment_seconds"], seed=asked["seed"],
                   optimizer=recipe.get("optimizer", DEFAULTS["optimizer"]),
                   scheduler=plain(recipe.get("scheduler", DEFAULTS["scheduler"])),
                   config_overrides=asked["config_overrides"], max_train_segments=asked["max_train_segments"],
                   eval_batch_size=int(pick("eval_batch_size")), epochs=int(pick("epochs")),
                   workers=int(request.workers), grad_clip=float(clip) if clip is not None else None)

    @classmethod
    def resumed(cls, request: TrainRequest, stored: Mapping[str, Any], run_dir: os.PathLike) -> TrainConfig:
        """The interrupted run's settings (``stored``), with the request's ``epochs``,
        ``eval_batch_size`` and ``workers``; any other request that differs is refused."""
        asked = request.asked()
        for key in _CHECKED_ON_RESUME:
            if asked[key] is not None and key in stored and asked[key] != stored[key]:
                raise TrainingError(
                    f"{run_dir}: the run being resumed used {key}={stored[key]!r}, not {asked[key]!r}; "
                    "pass the same options, or drop --resume to start over")
        return cls.from_dict({**stored, "epochs": int(request.epochs or stored["epochs"]),
                              "eval_batch_size": int(request.eval_batch_size or stored["eval_batch_size"]),
                              "workers": int(request.workers)})

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> TrainConfig:
        """The config ``as_dict`` wrote (a run's ``last.state.pt`` ``config``)."""
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in stored.items() if k in known},
                   extra={k: v for k, v in stored.items() if k not in known})

    def as_dict(self) -> dict[str, Any]:
        """The stored form: the keys in the order earlier versions wrote them."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("grad_clip", "extra")}
        out["scheduler"] = dict(self.scheduler)
        out["config_overrides"] = dict(self.config_overrides)
        if self.grad_clip is not None:
            out["grad_clip"] = self.grad_clip
        return {**out, **self.extra}


def resolve(request: TrainRequest, recipe: Mapping[str, Any], stored: Mapping[str, Any] | None,
            run_dir: os.PathLike | None) -> TrainConfig:
    """The run's ``TrainConfig``: ``stored`` (a resumed run's config) or a new one from the recipe."""
    if stored is not None:
        return TrainConfig.resumed(request, stored, run_dir)
    return TrainConfig.new(request, recipe)
