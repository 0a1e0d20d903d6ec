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
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.workspace import Workspace

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

    from musiclatent.corpus.manifest import Manifest
    from musiclatent.latents.table import LatentTable
    from musiclatent.training.trainer import TrainResult

PathLike = str | os.PathLike


def _ws(workspace: Workspace | PathLike | None) -> Workspace:
    return workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)


def _checkpoint(ws: Workspace, model: str | None, checkpoint: PathLike | None) -> Path:
    if checkpoint is not None:
        return Path(checkpoint).expanduser().resolve()
    if model is None:
        raise ValueError("pass model= (its best checkpoint in the workspace) or checkpoint=")
    return ws.best_checkpoint(model)


def synth(out: PathLike, *, tracks_per_genre: int = 10, seconds: float = 30.0, seed: int = 0,
          progress: bool = True) -> list[Path]:
    """Write the synthetic GTZAN-shaped corpus (``out/genres/<genre>/<genre>.000NN.wav``)."""
    from musiclatent.corpus.synth import synthesize_corpus

    return synthesize_corpus(out, tracks_per_genre=tracks_per_genre, seconds=seconds, seed=seed,
                             progress=progress)


def scan(path: PathLike, *, labels: PathLike | None = None, sample_rate: int = DEFAULT_SAMPLE_RATE, seed: int = 0,
         quick: bool = False, workspace: Workspace | PathLike | None = None, progress: bool = True) -> Manifest:
    """Scan a corpus folder, save its manifest in the workspace and remember it (``corpus scan``)."""
    from musiclatent.corpus.errors import CorpusError
    from musiclatent.corpus.manifest import scan_corpus

    manifest = scan_corpus(path, labels, sample_rate=sample_rate, quick=quick, seed=seed, progress=progress)
    if manifest.tracks.empty:
        raise CorpusError(f"no usable audio files under {manifest.root}; nothing was written")
    remember_corpus(_ws(workspace), manifest, sample_rate=sample_rate, seed=seed)
    return manifest


def remember_corpus(ws: Workspace, manifest: Manifest, *, sample_rate: int, seed: int) -> None:
    """Save a scanned manifest in the workspace and make its corpus the remembered one."""
    manifest.save(ws.manifest_path)
    ws.update(corpus=manifest.meta["source"], labels=manifest.labels, sample_rate=sample_rate,
              labels_csv=manifest.meta.get("labels_csv"), split_seed=seed)


def train(model: str, *, workspace: Workspace | PathLike | None = None, data: PathLike | None = None,
          **options: Any) -> TrainResult:
    """Train a registered architecture (``musiclatent train``); options as in
    ``musiclatent.training.trainer.train`` (epochs, lr, batch_size, loss, resume, seed, ...)."""
    from musiclatent.training.trainer import train as _train

    return _train(model, workspace=_ws(workspace), data=data, **options)


def gridsearch(models: Sequence[str], lrs: Sequence[float], epochs: Sequence[int], *,
               workspace: Workspace | PathLike | None = None, data: PathLike | None = None,
               **options: Any) -> pd.DataFrame:
    """The seed report's grid search (``musiclatent gridsearch``): one run per (model, lr)."""
    from musiclatent.training.gridsearch import gridsearch as _gridsearch

    return _gridsearch(list(models), list(lrs), list(epochs), workspace=_ws(workspace), data=data, **options)


def encode(model: str | None = None, *, checkpoint: PathLike | None = None, data: PathLike | None = None,
           out: PathLike | None = None, workspace: Workspace | PathLike | None = None,
           **options: Any) -> LatentTable:
    """Encode the corpus into a latent table and open it (``musiclatent encode``); options as in
    ``musiclatent.latents.encode.encode_corpus`` (batch_size, segment_seconds, device, workers, resume)."""
    from musiclatent.checkpoint import read_metadata
    from musiclatent.latents.encode import encode_corpus
    from musiclatent.latents.table import LatentTable
    from musiclatent.workspace import load_manifest

    ws = _ws(workspace)
    ckpt = _checkpoint(ws, model, checkpoint)
    meta = read_metadata(ckpt)
    manifest = load_manifest(ws, data, sample_rate=int(meta.get("sample_rate", DEFAULT_SAMPLE_RATE)),
                             progress=options.get("progress", True))
    target = Path(out).expanduser() if out else ws.latents_path(model or meta["arch"])
    return LatentTable.open(encode_corpus(checkpoint=ckpt, manifest=manifest, out=target, **options))


def open_table(path: PathLike | None = None, *, workspace: Workspace | PathLike | None = None) -> LatentTable:
    """Open a latent table lazily (default: the workspace's most recent one)."""
    from musiclatent.latents.table import LatentTable

    return LatentTable.open(path if path is not None else _ws(workspace).latest_table())


def analyze(name: str, *, table: PathLike | LatentTable | None = None, out: PathLike | None = None,
            workspace: Workspace | PathLike | None = None, pooling: str = "meanstd", seed: int = 0,
            **options: Any) -> Path:
    """Run a registered analysis (``musiclatent analyze NAME``); returns its output folder."""
    from musiclatent.analysis.runner import run_analysis

    ws = _ws(workspace)
    return run_analysis(name, table=table if table is not None else ws.latest_table(), out_dir=out,
                        workspace=ws, pooling=pooling, seed=seed, **options)


def decode(track_id: str | None = None, *, latent: np.ndarray | PathLike | None = None,
           table: PathLike | LatentTable | None = None, out: PathLike | None = None,
           workspace: Workspace | PathLike | None = None) -> tuple[np.ndarray, int]:
    """Decode a track of a table, or a latent array/.npy file, back to audio (``musiclatent decode``).

    Returns ``(wave, sample_rate)``; also writes a WAV when ``out`` is given.
    """
    from musiclatent.latents.decode import decode_request, decode_to_file
    from musiclatent.latents.table import LatentTable

    if (track_id is None) == (latent is None):
        raise ValueError("pass exactly one of track_id= or latent=")
    lt = table if isinstance(table, LatentTable) else open_table(table, workspace=workspace)
    wave, sr = decode_request(lt, track_id=track_id, latent=latent)
    if out is not None:
        decode_to_file(Path(out).expanduser(), wave, sr)
    return wave, sr


def evaluate(model: str | None = None, *, checkpoint: PathLike | None = None, data: PathLike | None = None,
             split: str | None = "test", workspace: Workspace | PathLike | None = None,
             **options: Any) -> pd.DataFrame:
    """Reconstruction metrics per track beside the same-size resampling codec (``musiclatent evaluate``)."""
    from musiclatent.checkpoint import read_metadata
    from musiclatent.latents.evaluate import evaluate as _evaluate
    from musiclatent.workspace import load_manifest

    ws = _ws(workspace)
    ckpt = _checkpoint(ws, model, checkpoint)
    manifest = load_manifest(ws, data, sample_rate=int(read_metadata(ckpt).get("sample_rate", DEFAULT_SAMPLE_RATE)),
                             progress=options.get("progress", True))
    return _evaluate(ckpt, manifest, split, **options)


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
    from musiclatent.pipeline import run_demo

    return run_demo(_ws(workspace), **options)


__all__ = ["analyze", "decode", "demo", "encode", "evaluate", "export", "gridsearch", "open_table", "report", "scan",
           "synth", "train"]
