"""The demo: the whole pipeline in one call, as ``musiclatent demo`` runs it, through ``musiclatent.api``.

``run_demo(workspace)``: synthesize the embedded 10-genre corpus into ``<workspace>/corpus`` ->
scan it -> train the default model briefly -> encode the corpus -> umap, cluster, neighbors,
interpolate, probe -> the HTML report. Every step is resumable: a step whose result is already
there (same corpus, same checkpoint, same table) is skipped, so re-running after an interruption
only does what is left. ``DemoConfig`` (frozen) says what to run; each step is a small function
of the run's ``DemoState`` that says whether it did anything.
(Formerly ``musiclatent.pipeline``, which still re-exports it with a deprecation warning.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The built-in model the demo trains; one constant, change it here. mel12 (1/12 of the samples,
# alt5's size) trains in under a minute on 2 CPU cores and its latents carry about twice the genre
# information of alt5's (probe 0.63 vs 0.32 on the demo corpus); `musiclatent demo --model alt5`
# runs the seed report's Net5 instead.
DEFAULT_MODEL = "mel12"
DEMO_ANALYSES = ("umap", "cluster", "neighbors", "interpolate", "probe")
# every chart as offline HTML and PNG (plus its Vega-Lite JSON), as docs/user-guide.md promises
DEMO_FORMATS = ("html", "png")


@dataclass(frozen=True)
class DemoSizes:
    """How big the demo is: corpus, segments, training budget, analysis options."""

    tracks_per_genre: int = 10
    seconds: float = 15.0
    segment_seconds: float = 5.0
    epochs: int = 8
    max_train_segments: int | None = 120
    train_time_budget_s: float | None = 90.0
    preview_seconds: float = 10.0
    analysis_options: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "cluster": {"k_max": 12}, "neighbors": {"k": 5}, "interpolate": {"steps": 6},
        "probe": {"folds": 5},
    })


DEFAULT_SIZES = DemoSizes()
FAST_SIZES = DemoSizes(tracks_per_genre=2, seconds=4.0, segment_seconds=2.0, epochs=1,
                       max_train_segments=8, train_time_budget_s=30.0, preview_seconds=2.0,
                       analysis_options={"cluster": {"k_max": 4}, "neighbors": {"k": 2},
                                         "interpolate": {"steps": 3}, "probe": {"folds": 2}})


@dataclass
class DemoResult:
    """Where the demo put things, and what each step did (``"done"`` or ``"skipped"``) and took."""

    workspace: Path
    corpus: Path
    checkpoint: Path
    table: Path
    report: Path
    steps: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def _analysis_is_current(folder: Path, table_path: Path, sha: str, created: str | None = None) -> bool:
    """Whether ``folder`` holds an analysis of this very table: same path, checkpoint and (when
    known) encoding time, so the report never finds it stale; and every chart in DEMO_FORMATS."""
    try:
        index = json.loads((folder / "index.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    table = index.get("table") or {}
    charts = [o for o in index.get("outputs") or [] if isinstance(o, dict) and o.get("kind") == "chart"]
    if any(fmt not in (o.get("files") or {}) for o in charts for fmt in DEMO_FORMATS):
        return False  # made by an older demo without PNGs: make it again
    if created is not None and isinstance(table, dict) and table.get("created") not in (None, created):
        return False  # the table was encoded again since (same checkpoint, changed corpus)
    return (isinstance(table, dict) and table.get("checkpoint_sha256") == sha
            and Path(str(table.get("path", ""))).resolve() == table_path.resolve())


def _table_sha(path: Path) -> str | None:
    from musiclatent.latents.table import LatentTable

    try:
        return LatentTable.open(path).metadata.get("checkpoint_sha256")
    except Exception:  # noqa: BLE001 - missing, incomplete or foreign: encode again
        return None


def _table_created(path: Path) -> str | None:
    from musiclatent.latents.table import LatentTable

    try:
        return LatentTable.open(path).metadata.get("created")
    except Exception:  # noqa: BLE001 - missing or foreign: the analysis is made again anyway
        return None


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs: the model, the sizes, and the corpus and training they settle."""

    model: str = DEFAULT_MODEL
    sizes: DemoSizes = DEFAULT_SIZES
    tracks_per_genre: int = DEFAULT_SIZES.tracks_per_genre
    seconds: float = DEFAULT_SIZES.seconds
    epochs: int = DEFAULT_SIZES.epochs
    seed: int = 0
    progress: bool = True

    @classmethod
    def of(cls, *, tracks_per_genre: int | None = None, seconds: float | None = None, epochs: int | None = None,
           model: str = DEFAULT_MODEL, fast: bool = False, seed: int = 0, progress: bool = True) -> DemoConfig:
        """The ``FAST_SIZES`` or ``DEFAULT_SIZES``, with ``tracks_per_genre``, ``seconds`` and
        ``epochs`` overriding them when given."""
        sizes = FAST_SIZES if fast else DEFAULT_SIZES
        tpg = int(tracks_per_genre if tracks_per_genre is not None else sizes.tracks_per_genre)
        if tpg < 2:
            raise ValueError("the demo needs at least 2 tracks per genre (the probe cross-validates)")
        return cls(model=model, sizes=sizes, tracks_per_genre=tpg,
                   seconds=float(seconds if seconds is not None else sizes.seconds),
                   epochs=int(epochs if epochs is not None else sizes.epochs), seed=seed, progress=progress)


@dataclass
class DemoState:
    """What the steps found so far: the workspace, whether the corpus changed, the newest run."""

    ws: Any
    config: DemoConfig
    run_dir: Path
    changed: bool = False
    report: Path | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def corpus(self) -> Path:
        return self.ws.root / "corpus"

    @property
    def table(self) -> Path:
        return self.ws.latents_path(self.config.model)

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / "best.safetensors"


def _synth(state: DemoState) -> bool:
    from musiclatent import api

    corpus, config = state.corpus, state.config
    before = {p: p.stat().st_mtime for p in corpus.rglob("*.wav")} if corpus.exists() else {}
    paths = api.synth(corpus, tracks_per_genre=config.tracks_per_genre, seconds=config.seconds, seed=config.seed,
                      progress=config.progress)
    # tracks left by an earlier, larger demo would mix sizes: the demo's own files go
    stale = [p for p in before if p not in set(paths) and p.parent.parent == corpus / "genres"
             and p.name.startswith(p.parent.name + ".")]
    for p in stale:
        p.unlink()
    state.changed = bool(stale) or any(before.get(p) != p.stat().st_mtime for p in paths)
    return state.changed


def _scan(state: DemoState) -> bool:
    from musiclatent import api

    ws = state.ws
    before = ws.manifest_path.stat().st_mtime if ws.manifest_path.exists() else None
    api.manifest(state.corpus, workspace=ws, progress=state.config.progress)
    ws.update(corpus=str(state.corpus.resolve()))
    did = before is None or ws.manifest_path.stat().st_mtime != before
    state.changed = state.changed or did
    return did


def _train(state: DemoState) -> bool:
    from musiclatent import api
    from musiclatent.training.trainer import read_run

    config, info = state.config, read_run(state.run_dir)
    fresh = not state.changed
    if (state.checkpoint.exists() and fresh and info.get("status") in ("finished", "time_budget", "already_done")
            and int((info.get("training") or {}).get("epochs", config.epochs)) == config.epochs):
        return False
    result = api.train(config.model, workspace=state.ws, epochs=config.epochs,
                       segment_seconds=config.sizes.segment_seconds, max_train_segments=config.sizes.max_train_segments,
                       seed=config.seed, time_budget_s=config.sizes.train_time_budget_s, progress=config.progress,
                       resume=fresh)
    state.run_dir = result.run_dir
    return result.status != "already_done"


def _encode(state: DemoState) -> bool:
    from musiclatent import api
    from musiclatent.fileio import sha256_file

    table = state.table
    if table.exists() and _table_sha(table) == sha256_file(state.checkpoint) and not state.changed:
        return False
    if table.exists():
        table.unlink()  # made by another checkpoint or corpus: start over
    chosen = api.Checkpoint(state.checkpoint, state.config.model, "the demo's run")
    api.encode(checkpoint=chosen, data=state.corpus, out=table, workspace=state.ws,
               progress=state.config.progress, resume=True)
    return True


def _analysis(name: str) -> Callable[[DemoState], bool]:
    def run(state: DemoState) -> bool:
        from musiclatent import api

        table = state.table
        if _analysis_is_current(state.ws.analysis_dir(name), table, _table_sha(table) or "", _table_created(table)):
            return False
        api.analyze(name, table=table, workspace=state.ws, seed=state.config.seed, formats=DEMO_FORMATS,
                    **state.config.sizes.analysis_options.get(name, {}))
        return True
    return run


def _report(state: DemoState) -> bool:
    from musiclatent import api

    state.report = api.report(workspace=state.ws, table=state.table, preview_seconds=state.config.sizes.preview_seconds)
    return True


def demo_steps(config: DemoConfig) -> list[tuple[str, Callable[[DemoState], bool]]]:
    """The demo's steps in order: a title and a function that says whether it did anything."""
    return [("synthesize the demo corpus (10 genres)", _synth), ("scan the corpus", _scan),
            (f"train {config.model} ({config.epochs} epochs at most)", _train),
            (f"encode the corpus with {config.model}", _encode),
            *((f"analyze {name}", _analysis(name)) for name in DEMO_ANALYSES),
            ("build the report", _report)]


def run_steps(config: DemoConfig, workspace=None, log: Callable[[str], None] = print) -> DemoResult:
    """Run every step of ``demo_steps(config)`` in ``workspace``, logging one line before and after each."""
    from musiclatent.workspace import Workspace

    ws = workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)
    started = time.time()
    ws.root.mkdir(parents=True, exist_ok=True)
    state = DemoState(ws, config, run_dir=ws.run_dir(config.model))  # the newest run; a new one when the corpus changed
    steps = demo_steps(config)
    for k, (name, fn) in enumerate(steps, start=1):
        t0 = time.time()
        log(f"[{k}/{len(steps)}] {name} ...")
        did = fn(state)
        took = time.time() - t0
        state.steps.append({"step": name, "status": "done" if did else "skipped", "seconds": round(took, 2)})
        log(f"    {'done' if did else 'skipped (already done)'} in {took:.1f} s")
    return DemoResult(workspace=ws.root, corpus=state.corpus, checkpoint=state.checkpoint, table=state.table,
                      report=state.report, steps=state.steps, seconds=round(time.time() - started, 2))


def run_demo(workspace=None, *, tracks_per_genre: int | None = None, seconds: float | None = None,
             epochs: int | None = None, model: str = DEFAULT_MODEL, fast: bool = False, seed: int = 0,
             progress: bool = True, log: Callable[[str], None] | None = None) -> DemoResult:
    """Run the whole pipeline in ``workspace`` (a ``Workspace`` or a path); returns a ``DemoResult``.

    ``fast=True`` uses tiny sizes (tests); ``tracks_per_genre``, ``seconds`` and ``epochs``
    override the chosen sizes. ``log`` receives one line per step (default: print).
    """
    config = DemoConfig.of(tracks_per_genre=tracks_per_genre, seconds=seconds, epochs=epochs, model=model,
                           fast=fast, seed=seed, progress=progress)
    return run_steps(config, workspace, log or print)


__all__ = ["DEFAULT_MODEL", "DEFAULT_SIZES", "DEMO_ANALYSES", "DEMO_FORMATS", "FAST_SIZES", "DemoConfig",
           "DemoResult", "DemoSizes", "DemoState", "demo_steps", "run_demo", "run_steps"]
