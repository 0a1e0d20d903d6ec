"""Encode a corpus into a latent table on this machine: the local engine.

Tracks are read (from the decoded-audio cache when it holds them, else decoded) and cut into
segments by the core's per-track ``TrackDataset`` served by a ``DataLoader`` (``workers``
processes decode while the model runs). Segments of consecutive tracks are packed into batches
of ``batch_size`` and encoded by the core's ``encode_segments``; once a track's segments are all
encoded its rows go to the ``LatentTableWriter``, which flushes whole tracks into part files of a
hidden partial folder. An interrupted encode (crash, Ctrl-C, kill) resumes from there: tracks
already flushed are skipped, and the final table has the same rows in the same order as an
uninterrupted run. Unreadable files are skipped, printed and listed in the table's ``problems``.

Everything an engine shares (reading, the inference loop, the metadata, the resume rules) is in
``musiclatent.latents.inference``; this module only drives it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musiclatent.latents.inference import (
    Encoder,
    Log,
    Progress,
    TrackDataset,
    TrackItem,
    checkpoint_segment_seconds,
    encode_segments,
    file_stamps,
    identity,
    load_encoder,
    manifest_of,
    open_writer,
    require_positive,
    stderr_log,
    tracks_to_encode,
)

DEFAULT_BATCH_SIZE = 16
FLUSH_SECONDS = 30.0  # flush finished tracks at least this often, so a kill loses little work
_manifest_of = manifest_of  # the old private spelling


@dataclass(frozen=True)
class EncodeConfig:
    """What ``encode_corpus`` does, as one value (see its parameters)."""

    checkpoint: Path
    out: Path
    batch_size: int = DEFAULT_BATCH_SIZE
    segment_seconds: float | None = None
    device: str = "auto"
    workers: int = 0
    resume: bool = True
    progress: bool = True
    row_group_rows: int = 2048


def _track_written(track_id: str) -> None:
    """Called after each track is handed to the writer (tests patch this to simulate a kill)."""


def encode_corpus(*, checkpoint: str | os.PathLike, manifest, out: str | os.PathLike,
                  batch_size: int = DEFAULT_BATCH_SIZE, segment_seconds: float | None = None,
                  device: str = "auto", workers: int = 0, resume: bool = True, progress: bool = True,
                  cache=None, row_group_rows: int = 2048, log: Log | None = None) -> Path:
    """Encode every track of ``manifest`` (all splits) with ``checkpoint`` into the table ``out``.

    ``manifest``: a ``musiclatent.corpus.manifest.Manifest`` or the path of a saved one.
    ``segment_seconds`` defaults to the length the checkpoint was trained on (else 5 s).
    ``cache``: an optional ``AudioCache`` read instead of decoding where it is fresh.
    ``log(message)`` receives one line per skipped file (default: stderr). Returns ``out``.

    One encode at a time writes a table: a second one on the same ``out`` raises ``BusyError``
    naming the first one's pid (an exclusive lock on ``.<name>.lock``; a killed run holds none).
    """
    config = EncodeConfig(checkpoint=Path(checkpoint).expanduser().resolve(), out=Path(out).expanduser(),
                          batch_size=batch_size, segment_seconds=segment_seconds, device=device,
                          workers=workers, resume=resume, progress=progress, row_group_rows=row_group_rows)
    return run_encode(config, manifest, cache=cache, log=log)


def run_encode(config: EncodeConfig, manifest, *, cache=None, log: Log | None = None) -> Path:
    """``encode_corpus`` for a ready ``EncodeConfig``, holding the table's lock."""
    from musiclatent.locks import exclusive

    with exclusive(config.out, "another `musiclatent encode`"):
        return _encode_locked(config, manifest, cache, log or stderr_log)


def _encode_locked(config: EncodeConfig, manifest, cache, log: Log) -> Path:
    from musiclatent.devices import select_device

    require_positive(config.out, {"--batch-size": config.batch_size})
    manifest = manifest_of(manifest)
    dev = select_device(config.device)
    encoder = load_encoder(config.checkpoint, config.segment_seconds, manifest.root, dev)
    tracks = manifest.tracks.reset_index(drop=True)
    writer = open_writer(config.out, encoder.metadata, manifest, tracks, resume=config.resume,
                         row_group_rows=config.row_group_rows, log=log, stamps=file_stamps(manifest.root, tracks))
    todo = tracks_to_encode(tracks, writer, log).to_dict("records")
    progress = Progress(len(todo), f"encode {encoder.metadata['model']}", config.progress)
    batches = _Batches(encoder, dev, config.batch_size, writer, progress, log)
    try:
        for item in _loader(todo, manifest.root, encoder, config.workers, cache):
            batches.add(item)
        batches.run()
    except BaseException:
        progress.close()
        writer.abort()
        raise
    progress.close()
    return writer.close()  # audio_s and elapsed_s: summed over every run that wrote the table


def _loader(todo: list[dict], root, encoder: Encoder, workers: int, cache):
    """The tracks to encode as ``TrackItem``s, read by ``workers`` DataLoader processes."""
    import torch

    dataset = TrackDataset(todo, root, encoder.metadata["sample_rate"], encoder.segment_seconds, cache=cache)
    return torch.utils.data.DataLoader(dataset, batch_size=None, shuffle=False, num_workers=int(workers),
                                       collate_fn=identity, persistent_workers=False)


class _Batches:
    """Tracks gathered until their segments fill a batch, then encoded and written in order."""

    def __init__(self, encoder: Encoder, device, batch_size: int, writer, progress: Progress, log: Log):
        self.encoder, self.device, self.batch_size = encoder, device, batch_size
        self.writer, self.progress, self.log = writer, progress, log
        self.pending: list[TrackItem] = []
        self.last_flush = time.perf_counter()

    def add(self, item: TrackItem) -> None:
        if item.error is not None:
            self.skip(item.path, item.error)
            return
        self.pending.append(item)
        if sum(len(t.segments) for t in self.pending) >= self.batch_size:
            self.run()

    def skip(self, path: str, reason: str) -> None:
        self.writer.add_problem(path, reason)
        self.progress.track_done()
        self.log(f"skipped {path}: {reason}")

    def run(self) -> None:
        """Encode the pending tracks and hand each one's rows to the writer."""
        if not self.pending:
            return
        latents = encode_segments(self.encoder.model, np.concatenate([t.segments for t in self.pending]),
                                  self.batch_size, self.device, self.encoder.metadata["latent_shape"],
                                  where=self.encoder.checkpoint)
        offset = 0
        for t in self.pending:
            n = len(t.segments)
            self.write(t, latents[offset:offset + n])
            offset += n
        self.pending.clear()
        self.progress.show_speed()
        if time.perf_counter() - self.last_flush > FLUSH_SECONDS:
            self.writer.flush()
            self.last_flush = time.perf_counter()

    def write(self, track: TrackItem, latents: np.ndarray) -> None:
        if not np.isfinite(latents).all():  # e.g. audio far louder than full scale
            peak = float(np.abs(track.segments).max())
            self.skip(track.path, f"the model gave NaN/infinite latents (audio peak {peak:.3g}); normalise the file")
            return
        rows = track.columns()
        self.writer.write(rows, latents)
        _track_written(track.track_id)
        self.progress.track_done(sum(r["duration_s"] for r in track.rows))


__all__ = ["EncodeConfig", "TrackDataset", "TrackItem", "checkpoint_segment_seconds", "encode_corpus", "file_stamps",
           "run_encode"]
