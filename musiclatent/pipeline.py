"""The whole pipeline in one call, as ``musiclatent demo`` runs it.

``run_demo(workspace)``: synthesize the embedded 10-genre corpus into ``<workspace>/corpus`` ->
scan it -> train the default model briefly -> encode the corpus -> umap, cluster, neighbors,
interpolate, probe -> the HTML report. Every step is resumable: a step whose result is already
there (same corpus, same checkpoint, same table) is skipped, so re-running after an interruption
only does what is left.
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


def run_demo(workspace=None, *, tracks_per_genre: int | None = None, seconds: float | None = None,
             epochs: int | None = None, model: str = DEFAULT_MODEL, fast: bool = False, seed: int = 0,
             progress: bool = True, log: Callable[[str], None] | None = None) -> DemoResult:
    """Run the whole pipeline in ``workspace`` (a ``Workspace`` or a path); returns a ``DemoResult``.

    ``fast=True`` uses tiny sizes (tests); ``tracks_per_genre``, ``seconds`` and ``epochs``
    override the chosen sizes. ``log`` receives one line per step (default: print).
    """
    from musiclatent.workspace import Workspace

    log = log or print
    ws = workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)
    sizes = FAST_SIZES if fast else DEFAULT_SIZES
    tpg = int(tracks_per_genre if tracks_per_genre is not None else sizes.tracks_per_genre)
    secs = float(seconds if seconds is not None else sizes.seconds)
    n_epochs = int(epochs if epochs is not None else sizes.epochs)
    if tpg < 2:
        raise ValueError("the demo needs at least 2 tracks per genre (the probe cross-validates)")
    started = time.time()
    steps: list[dict[str, Any]] = []
    total = 5 + len(DEMO_ANALYSES)

    def step(name: str, fn: Callable[[], bool]):
        t0 = time.time()
        log(f"[{len(steps) + 1}/{total}] {name} ...")
        did = fn()
        took = time.time() - t0
        steps.append({"step": name, "status": "done" if did else "skipped", "seconds": round(took, 2)})
        log(f"    {'done' if did else 'skipped (already done)'} in {took:.1f} s")

    corpus = ws.root / "corpus"
    ws.root.mkdir(parents=True, exist_ok=True)

    def synth() -> bool:
        from musiclatent.corpus.synth import synthesize_corpus

        before = {p: p.stat().st_mtime for p in corpus.rglob("*.wav")} if corpus.exists() else {}
        paths = synthesize_corpus(corpus, tracks_per_genre=tpg, seconds=secs, seed=seed, progress=progress)
        # tracks left by an earlier, larger demo would mix sizes: the demo's own files go
        stale = [p for p in before if p not in set(paths) and p.parent.parent == corpus / "genres"
                 and p.name.startswith(p.parent.name + ".")]
        for p in stale:
            p.unlink()
        return bool(stale) or any(before.get(p) != p.stat().st_mtime for p in paths)

    manifest_box: dict[str, Any] = {}

    def scan() -> bool:
        from musiclatent.workspace import load_manifest

        before = ws.manifest_path.stat().st_mtime if ws.manifest_path.exists() else None
        manifest_box["m"] = load_manifest(ws, data=corpus, progress=progress)
        ws.update(corpus=str(corpus.resolve()))
        return before is None or ws.manifest_path.stat().st_mtime != before

    run_box = {"dir": ws.run_dir(model)}  # the newest run; a new one when the corpus changed

    def train() -> bool:
        from musiclatent.training.trainer import read_run
        from musiclatent.training.trainer import train as train_model

        info = read_run(run_box["dir"])
        fresh = not manifest_box.get("changed", False)
        if ((run_box["dir"] / "best.safetensors").exists() and fresh and info.get("status") in ("finished", "time_budget", "already_done")
                and int((info.get("training") or {}).get("epochs", n_epochs)) == n_epochs):
            return False
        result = train_model(model, workspace=ws, epochs=n_epochs, segment_seconds=sizes.segment_seconds,
                             max_train_segments=sizes.max_train_segments, seed=seed,
                             time_budget_s=sizes.train_time_budget_s, progress=progress,
                             resume=fresh)
        run_box["dir"] = result.run_dir
        return result.status != "already_done"

    table_path = ws.latents_path(model)

    def encode() -> bool:
        from musiclatent.fileio import sha256_file
        from musiclatent.latents.encode import encode_corpus

        checkpoint = run_box["dir"] / "best.safetensors"
        sha = sha256_file(checkpoint)
        if table_path.exists() and _table_sha(table_path) == sha and not manifest_box.get("changed"):
            return False
        if table_path.exists():
            table_path.unlink()  # made by another checkpoint or corpus: start over
        encode_corpus(checkpoint=checkpoint, manifest=manifest_box["m"], out=table_path,
                      progress=progress, resume=True)
        return True

    def analysis(name: str) -> Callable[[], bool]:
        def run() -> bool:
            from musiclatent.analysis.runner import run_analysis

            sha = _table_sha(table_path) or ""
            if _analysis_is_current(ws.analysis_dir(name), table_path, sha, _table_created(table_path)):
                return False
            run_analysis(name, table=table_path, workspace=ws, seed=seed, formats=DEMO_FORMATS,
                         **sizes.analysis_options.get(name, {}))
            return True
        return run

    report_box: dict[str, Path] = {}

    def report() -> bool:
        from musiclatent.report.build import build_report

        report_box["index"] = build_report(ws, table=table_path, preview_seconds=sizes.preview_seconds)
        return True

    step("synthesize the demo corpus (10 genres)", synth)
    manifest_box["changed"] = steps[-1]["status"] == "done"
    step("scan the corpus", scan)
    manifest_box["changed"] = manifest_box["changed"] or steps[-1]["status"] == "done"
    step(f"train {model} ({n_epochs} epochs at most)", train)
    step(f"encode the corpus with {model}", encode)
    for name in DEMO_ANALYSES:
        step(f"analyze {name}", analysis(name))
    step("build the report", report)
    return DemoResult(workspace=ws.root, corpus=corpus, checkpoint=run_box["dir"] / "best.safetensors",
                      table=table_path, report=report_box["index"], steps=steps, seconds=round(time.time() - started, 2))
