"""The Python API: one function per CLI command, with the same workspace defaults.

    import musiclatent.api as ml

    ml.synth("corpus", tracks_per_genre=10, seconds=30)
    ml.scan("corpus")                              # remembered by the workspace
    ml.train("alt5", epochs=30)
    table = ml.encode("alt5")                      # a LatentTable
    X, tracks = table.track_matrix("meanstd")      # numpy matrix + track DataFrame
    ml.analyze("umap", n_neighbors=10)             # -> analyses/umap/index.json
    wave, sr = ml.decode(track_id="genres/jazz/jazz.00003")
    ml.report()
    ml.export("embedding-atlas")                   # -> exports/<model>-track-embedding-atlas.parquet

Every function takes ``workspace=`` (a path or a ``Workspace``; default ``./musiclatent-work`` or
``$MUSICLATENT_WORKSPACE``); explicit paths override what the workspace remembers. Heavy
libraries are imported when a function is called, not when this module is imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.latents.pooling import DEFAULT_POOLING
from musiclatent.workspace import Workspace

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

    from musiclatent.corpus.manifest import Manifest
    from musiclatent.latents.table import LatentTable
    from musiclatent.training.trainer import TrainResult

PathLike = str | os.PathLike
Log = Callable[[str], None]


def _ws(workspace: Workspace | PathLike | None) -> Workspace:
    return workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)


def _stderr(message: str) -> None:
    import sys

    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)  # keeps a progress bar intact


@dataclass(frozen=True)
class Checkpoint:
    """The checkpoint a command uses: its file, the model name its table and outputs are named
    after, how it was chosen (``note``) and whether it is shipped pretrained weights."""

    path: Path
    name: str
    note: str
    pretrained: bool = False


def choose_checkpoint(model: str | None = None, checkpoint: PathLike | Checkpoint | None = None, *,
                      pretrained: bool = False, workspace: Workspace | PathLike | None = None,
                      log: Log | None = _stderr) -> Checkpoint:
    """The checkpoint ``encode``, ``evaluate`` and the CLI use, as the CLI chooses it.

    ``pretrained``: the weights shipped for ``model``; ``checkpoint``: that file (named after
    ``model``, else its metadata's model name, else its architecture); else the best checkpoint
    of the newest run of ``model`` in the workspace. ``log`` receives one line saying which file
    it is and why (``None``: silent). A ``Checkpoint`` passed as ``checkpoint`` is returned as is.
    """
    from musiclatent.checkpoint import pretrained_checkpoint, read_metadata

    if isinstance(checkpoint, Checkpoint):
        return checkpoint
    if pretrained:
        if model is None or checkpoint is not None:
            raise ValueError("pretrained=True needs model= and no checkpoint=")
        return Checkpoint(pretrained_checkpoint(model), model, "pretrained", pretrained=True)
    if checkpoint is None:
        if model is None:
            raise ValueError("pass model= (its best checkpoint in the workspace) or checkpoint=")
        ws = _ws(workspace)
        path, runs = ws.best_checkpoint(model), ws.runs(model)
        note = f"newest of {len(runs)} run(s) of {model}" if runs and runs[-1] == path.parent else (
            f"newest {model} run with a checkpoint; {runs[-1].name} has none" if runs else model)
        chosen = Checkpoint(path, model, note)
    else:
        path = Path(checkpoint).expanduser().resolve()
        meta = read_metadata(path)
        chosen = Checkpoint(path, model or meta.get("model_name") or meta["arch"], "--checkpoint")
    if log is not None:
        log(f"using {describe_checkpoint(chosen.path)} ({chosen.note})")
    return chosen


def describe_checkpoint(path: Path) -> str:
    """``PATH (epoch N, validation loss X)`` from the checkpoint's own metadata."""
    from musiclatent.checkpoint import read_metadata

    meta = read_metadata(path)
    val = (meta.get("metrics") or {}).get("val_loss")
    parts = [f"epoch {meta['epoch']}" if meta.get("epoch") is not None else None,
             f"validation loss {float(val):.6g}" if isinstance(val, int | float) else None]
    details = ", ".join(p for p in parts if p)
    return f"{path}" + (f" ({details})" if details else "")


def _corpus_for(ws: Workspace, chosen: Checkpoint, data: PathLike | None, progress: bool):
    """``(manifest, sample rate)``: the corpus (``data`` or the remembered one) at the model's rate."""
    from musiclatent.checkpoint import read_metadata
    from musiclatent.workspace import load_manifest

    rate = int(read_metadata(chosen.path).get("sample_rate", DEFAULT_SAMPLE_RATE))
    return load_manifest(ws, data, sample_rate=rate, progress=progress), rate


def audio_cache(ws: Workspace, manifest: Manifest, sample_rate: int):
    """The workspace's decoded-audio cache for this corpus, if one was built (never built here)."""
    from musiclatent.corpus.cache import AudioCache, cache_folder

    if cache_folder(ws.cache_dir, manifest.root, sample_rate).is_dir():
        return AudioCache(ws.cache_dir, manifest.root, sample_rate)
    return None


def check_segment_length(manifest: Manifest, chosen: Checkpoint, segment_seconds: float | None,
                         log: Log | None = _stderr) -> None:
    """Refuse a segment length longer than every track (``SegmentLengthError``); ``log`` a
    warning when only some are shorter."""
    from musiclatent.checkpoint import load_checkpoint, read_metadata
    from musiclatent.corpus.segments import DEFAULT_SEGMENT_SECONDS, SegmentLengthError
    from musiclatent.corpus.segments import check_segment_length as check
    from musiclatent.latents.inference import checkpoint_segment_seconds

    trained = checkpoint_segment_seconds(read_metadata(chosen.path))
    seconds = float(segment_seconds or trained or DEFAULT_SEGMENT_SECONDS)
    try:
        message = check(manifest.tracks["duration_s"], seconds)
    except SegmentLengthError as exc:
        load_checkpoint(chosen.path)  # a broken checkpoint is the first thing to fix: its error wins
        hint = "" if segment_seconds else (" (the length the checkpoint was trained on)" if trained
                                           else " (the default)")
        raise SegmentLengthError(f"{manifest.root}: {exc}{hint}") from None
    if message and log is not None:
        log(f"warning: {message}")


def synth(out: PathLike, *, tracks_per_genre: int = 10, seconds: float = 30.0, seed: int = 0,
          sample_rate: int = DEFAULT_SAMPLE_RATE, progress: bool = True) -> list[Path]:
    """Write the synthetic GTZAN-shaped corpus (``out/genres/<genre>/<genre>.000NN.wav``)."""
    from musiclatent.corpus.synth import synthesize_corpus

    return synthesize_corpus(out, tracks_per_genre=tracks_per_genre, seconds=seconds, seed=seed,
                             sample_rate=sample_rate, progress=progress)


def scan(path: PathLike, *, labels: PathLike | None = None, sample_rate: int = DEFAULT_SAMPLE_RATE, seed: int = 0,
         quick: bool = False, workers: int | None = None, workspace: Workspace | PathLike | None = None,
         progress: bool = True, log: Log | None = _stderr) -> Manifest:
    """Scan a corpus folder, save its manifest in the workspace and remember it (``corpus scan``).

    ``workers``: parallel readers (default: the CPUs). A corpus without one usable file is
    refused (``CorpusError``) after ``log`` has received each problem file with its reason.
    """
    from musiclatent.corpus.audio import AUDIO_EXTENSIONS
    from musiclatent.corpus.errors import CorpusError
    from musiclatent.corpus.manifest import scan_corpus

    manifest = scan_corpus(path, labels, sample_rate=sample_rate, jobs=workers, quick=quick, seed=seed,
                           progress=progress)
    if manifest.tracks.empty:
        for p in manifest.problems.to_dict("records"):
            if log is not None:
                log(f"  {p['path']}: {p['reason']}")
        raise CorpusError(
            f"no usable audio files under {manifest.root} ({len(manifest.problems)} problem(s) above; "
            f"audio extensions: {' '.join(AUDIO_EXTENSIONS)}); nothing was written")
    remember_corpus(_ws(workspace), manifest, sample_rate=sample_rate, seed=seed)
    return manifest


def manifest(data: PathLike | None = None, *, labels: PathLike | None = None, sample_rate: int | None = None,
             workspace: Workspace | PathLike | None = None, progress: bool = True) -> Manifest:
    """The corpus manifest ``train`` and ``encode`` use: the workspace's saved one while the corpus
    (``data``, else the remembered one) is unchanged, else a new scan that the workspace remembers."""
    from musiclatent.workspace import load_manifest

    return load_manifest(_ws(workspace), data, labels_csv=labels, sample_rate=sample_rate, progress=progress)


def remember_corpus(ws: Workspace, manifest: Manifest, *, sample_rate: int, seed: int) -> None:
    """Save a scanned manifest in the workspace and make its corpus the remembered one."""
    manifest.save(ws.manifest_path)
    ws.update(corpus=manifest.meta["source"], labels=manifest.labels, sample_rate=sample_rate,
              labels_csv=manifest.meta.get("labels_csv"), split_seed=seed)


def train(model: str, *, workspace: Workspace | PathLike | None = None, data: PathLike | None = None,
          from_pretrained: bool = False, **options: Any) -> TrainResult:
    """Train a registered architecture (``musiclatent train``); options as in
    ``musiclatent.training.trainer.train`` (epochs, lr, batch_size, loss, resume, seed, ...).
    ``from_pretrained``: start from the weights shipped for ``model`` (fine-tune)."""
    from musiclatent.checkpoint import pretrained_checkpoint
    from musiclatent.training.trainer import train as _train

    if from_pretrained:
        options["init_from"] = pretrained_checkpoint(model)
    return _train(model, workspace=_ws(workspace), data=data, **options)


def gridsearch(models: Sequence[str], lrs: Sequence[float], epochs: Sequence[int], *,
               workspace: Workspace | PathLike | None = None, data: PathLike | None = None,
               **options: Any) -> pd.DataFrame:
    """The seed report's grid search (``musiclatent gridsearch``): one run per (model, lr)."""
    from musiclatent.training.gridsearch import gridsearch as _gridsearch

    return _gridsearch(list(models), list(lrs), list(epochs), workspace=_ws(workspace), data=data, **options)


def encode(model: str | None = None, *, checkpoint: PathLike | Checkpoint | None = None, pretrained: bool = False,
           data: PathLike | None = None, out: PathLike | None = None,
           workspace: Workspace | PathLike | None = None, engine: str = "local", use_cache: bool = True,
           progress: bool = True, log: Log | None = _stderr, **options: Any) -> LatentTable:
    """Encode the corpus into a latent table and open it (``musiclatent encode``).

    The checkpoint is chosen as ``choose_checkpoint`` says; the table is ``out``, else
    ``latents/<model name>.parquet`` in the workspace. ``engine="local"`` reads from the
    workspace's decoded-audio cache where it is fresh (``use_cache``) and takes the options of
    ``musiclatent.latents.encode.encode_corpus`` (batch_size, segment_seconds, device, workers,
    resume); ``engine="ray"`` those of ``musiclatent.latents.ray_engine.encode_corpus_ray``
    (batch_size, segment_seconds, concurrency, num_gpus, address, resume). ``log`` receives the
    lines the CLI prints on stderr (``None``: silent).
    """
    from musiclatent.latents.table import LatentTable

    if engine not in ("local", "ray"):
        raise ValueError(f"engine={engine!r}: choose 'local' or 'ray'")
    ws = _ws(workspace)
    chosen = choose_checkpoint(model, checkpoint, pretrained=pretrained, workspace=ws, log=log)
    manifest, rate = _corpus_for(ws, chosen, data, progress)
    check_segment_length(manifest, chosen, options.get("segment_seconds"), log=log)
    target = Path(out).expanduser() if out else ws.latents_path(chosen.name)
    quiet = log or (lambda message: None)
    if engine == "ray":
        from musiclatent.latents.ray_engine import encode_corpus_ray

        path = encode_corpus_ray(checkpoint=chosen.path, manifest=manifest, out=target, progress=progress, log=quiet,
                                 **options)
    else:
        from musiclatent.latents.encode import encode_corpus

        cache = audio_cache(ws, manifest, rate) if use_cache else None
        path = encode_corpus(checkpoint=chosen.path, manifest=manifest, out=target, progress=progress, cache=cache,
                             log=quiet, **options)
    return LatentTable.open(path)


def open_table(path: PathLike | None = None, *, workspace: Workspace | PathLike | None = None) -> LatentTable:
    """Open a latent table lazily (default: the workspace's most recent one)."""
    from musiclatent.latents.table import LatentTable

    return LatentTable.open(path if path is not None else _ws(workspace).latest_table())


def analyze(name: str, *, table: PathLike | LatentTable | None = None, out: PathLike | None = None,
            workspace: Workspace | PathLike | None = None, pooling: str = DEFAULT_POOLING, seed: int = 0,
            **options: Any) -> Path:
    """Run a registered analysis (``musiclatent analyze NAME``); returns its output folder."""
    from musiclatent.analyses.runner import run_analysis

    ws = _ws(workspace)
    return run_analysis(name, table=table if table is not None else ws.latest_table(), out_dir=out,
                        workspace=ws, pooling=pooling, seed=seed, **options)


def decode(track_id: str | None = None, *, latent: np.ndarray | PathLike | None = None,
           table: PathLike | LatentTable | None = None, out: PathLike | None = None,
           checkpoint: PathLike | None = None, device: str = "cpu",
           workspace: Workspace | PathLike | None = None, log: Log | None = None) -> tuple[np.ndarray, int]:
    """Decode a track of a table, or a latent array/.npy file, back to audio (``musiclatent decode``).

    ``checkpoint``: a file to use instead of the one the table names (same sha256). Returns
    ``(wave, sample_rate)``; also writes a WAV when ``out`` is given. ``log`` receives the line
    saying which checkpoint decodes.
    """
    from musiclatent.latents.decode import decode_request, decode_to_file
    from musiclatent.latents.table import LatentTable

    if (track_id is None) == (latent is None):
        raise ValueError("pass exactly one of track_id= or latent=")
    lt = table if isinstance(table, LatentTable) else open_table(table, workspace=workspace)
    used = Path(checkpoint).expanduser().resolve() if checkpoint else Path(str(lt.metadata.get("checkpoint") or ""))
    if log is not None and used.is_file():
        source = "--checkpoint" if checkpoint else "the one the table was encoded with"
        log(f"using {describe_checkpoint(used)} ({source})")
    wave, sr = decode_request(lt, track_id=track_id, latent=latent, checkpoint=checkpoint, device=device)
    if out is not None:
        decode_to_file(Path(out).expanduser(), wave, sr)
    return wave, sr


def evaluate(model: str | None = None, *, checkpoint: PathLike | Checkpoint | None = None, pretrained: bool = False,
             data: PathLike | None = None, split: str | None = "test",
             workspace: Workspace | PathLike | None = None, use_cache: bool = True, progress: bool = True,
             log: Log | None = _stderr, **options: Any) -> pd.DataFrame:
    """Reconstruction metrics per track beside the same-size resampling codec (``musiclatent evaluate``);
    the checkpoint as ``choose_checkpoint`` says, audio from the workspace's cache where fresh;
    options as in ``musiclatent.latents.evaluate.evaluate`` (baseline, segment_seconds, device,
    batch_size, max_tracks). Write it with ``latents.evaluate.write_evaluation`` (the CLI writes
    into ``evaluation_folder``)."""
    from musiclatent.latents.evaluate import evaluate as _evaluate

    ws = _ws(workspace)
    chosen = choose_checkpoint(model, checkpoint, pretrained=pretrained, workspace=ws, log=log)
    manifest, rate = _corpus_for(ws, chosen, data, progress)
    cache = audio_cache(ws, manifest, rate) if use_cache else None
    return _evaluate(chosen.path, manifest, split, progress=progress, cache=cache, **options)


def evaluation_folder(chosen: Checkpoint, workspace: Workspace | PathLike | None = None) -> Path:
    """Where ``musiclatent evaluate`` writes by default: ``eval/`` beside the checkpoint; for shipped
    weights (inside the installed package, maybe read-only) ``runs/<model>/pretrained-eval``."""
    if chosen.pretrained:
        return _ws(workspace).root / "runs" / chosen.name / "pretrained-eval"
    return chosen.path.parent / "eval"


def report(*, out: PathLike | None = None, table: PathLike | None = None,
           workspace: Workspace | PathLike | None = None, **options: Any) -> Path:
    """Build the self-contained HTML report (``musiclatent report``); returns its ``index.html``."""
    from musiclatent.report.build import build_report

    return build_report(_ws(workspace), out=out, table=table, **options)


def export(fmt: str = "parquet", *, per: str = "track", table: PathLike | LatentTable | None = None,
           out: PathLike | None = None, workspace: Workspace | PathLike | None = None, **options: Any):
    """Write the table for Spotlight, Embedding Atlas, DuckDB/polars or CSV (``musiclatent export``);
    options as in ``musiclatent.exporting.export_table`` (pooling, k, metric). Returns an
    ``ExportResult`` (path, rows, columns, command that opens it, notes)."""
    from musiclatent.exporting import export_table

    ws = _ws(workspace)
    return export_table(table if table is not None else ws.latest_table(), fmt=fmt, per=per, out=out,
                        workspace=ws, **options)


def demo(*, workspace: Workspace | PathLike | None = None, **options: Any):
    """The whole pipeline on the synthetic corpus (``musiclatent demo``)."""
    from musiclatent.demo import run_demo

    return run_demo(_ws(workspace), **options)


__all__ = ["Checkpoint", "analyze", "audio_cache", "check_segment_length", "choose_checkpoint", "decode", "demo",
           "describe_checkpoint", "encode", "evaluate", "evaluation_folder", "export", "gridsearch", "manifest",
           "open_table",
           "report", "scan", "synth", "train"]
