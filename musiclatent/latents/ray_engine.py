"""Encode a corpus on Ray Data: the same table as ``encode_corpus``, written as a folder of parts.

The track manifest becomes a Ray Dataset (blocks of ``tracks_per_task`` tracks). A callable class,
``TrackEncoder``, runs in an actor pool (``map_batches(..., concurrency=N)``): each actor loads the
checkpoint once (its bytes travel with the actor's arguments, so workers need no copy of it),
then reads, segments and encodes one block of tracks per call with the encoding core's
``TrackDataset`` and ``encode_segments`` (``musiclatent.latents.inference``). Actors return Arrow
rows; the driver streams them, in manifest order, into the ``LatentTableWriter``'s partial folder
(``.<name>.partial/part-*.parquet``, the same part files, schema and metadata as the local
engine; the core's ``open_writer`` applies the same resume rules), then writes
``musiclatent.json`` and swaps the folder in at ``out`` (``fileio.swap_folder``). ``LatentTable.open(out)`` reads the folder like a file.

Audio is read by the workers: on a cluster the corpus root must be the same path on every node
(a shared filesystem). An interrupted run resumes from the partial folder (either engine's).
Ray is an optional extra (``pip install "musiclatent[ray]"``) imported only here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musiclatent.latents.errors import LatentTableError

DEFAULT_TRACKS_PER_TASK = 16
BLOCKS_PER_ACTOR = 4  # small corpora: this many blocks per actor, so a lost or slow actor costs little
MAX_RESUBMITS = 3  # times the tracks not yet written are submitted again when Ray lost work


class RayMissingError(LatentTableError):
    """Ray is not installed."""


def import_ray():
    """``ray`` and ``ray.data``, or a one-line error saying how to install them."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise RayMissingError(
            f"the Ray engine needs Ray Data ({exc}); install it with `pip install \"musiclatent[ray]\"` "
            "or use --engine local"
        ) from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """Use the running Ray, or connect to ``address`` ("auto", "ray://host:10001", "host:6379"), or start a local one.

    Without ``address`` the ``RAY_ADDRESS`` environment variable is used when set (Ray's own
    convention); otherwise a new local Ray is started (``num_cpus`` CPUs, no dashboard), never a
    cluster that ``ray start`` left running on this machine. A Ray started or joined here is shut
    down (disconnected) on exit; a connection made before the call is left alone.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "logging_level": logging.WARNING, "configure_logging": True}
    address = address or os.environ.get("RAY_ADDRESS") or None
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(address="local", num_cpus=num_cpus or os.cpu_count() or 1, **kwargs)
    except (ConnectionError, ValueError, RuntimeError, ray.exceptions.RayError) as exc:
        raise LatentTableError(f"cannot join the Ray cluster at {address or 'local'}: {_join_reason(exc)}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _join_reason(exc: BaseException) -> str:
    """Why ``ray.init`` failed, in one line, with the fix for a cluster that wants a token."""
    chain, e = [], exc
    while e is not None and len(chain) < 8:
        chain.append(e)
        e = e.__cause__ or e.__context__
    reason = _first_line(exc)
    if any("auth" in _first_line(e).lower() or "Authentication" in type(e).__name__ for e in chain):
        reason += ("; the cluster uses token authentication: set RAY_AUTH_MODE=token (and the cluster's "
                   "token in ~/.ray/auth_token or RAY_AUTH_TOKEN) for this command too")
    return reason


class TrackEncoder:
    """Ray actor: load a checkpoint once, then encode blocks of manifest rows into segment rows.

    ``__call__(batch: pandas.DataFrame) -> pyarrow.Table`` with the table's row columns, ``latent``
    (fixed-size list of float32), ``order`` (the track's manifest position) and ``error`` (set,
    with no latent, for a track that could not be read).
    """

    def __init__(self, checkpoint_bytes, sha256: str, root: str, sample_rate: int, segment_seconds: float,
                 batch_size: int, device: str = "cpu", threads: int = 1, latent_shape=None):
        import tempfile

        import torch

        from musiclatent.checkpoint import load_checkpoint

        if device == "cpu":
            torch.set_num_threads(max(1, int(threads)))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.safetensors"
            path.write_bytes(checkpoint_bytes)
            self.model, _ = load_checkpoint(path, expected_sha256=sha256, device=device)
        self.device = torch.device(device)
        self.root, self.sample_rate = root, int(sample_rate)
        self.segment_seconds, self.batch_size = float(segment_seconds), int(batch_size)
        self.latent_shape = latent_shape

    def __call__(self, batch):
        from musiclatent.latents.inference import ROW_COLUMNS, TrackDataset, encode_segments

        records = batch.to_dict("records")
        dataset = TrackDataset(records, self.root, self.sample_rate, self.segment_seconds)
        cols: dict[str, list] = {k: [] for k in (*ROW_COLUMNS, "order", "error")}
        waves = []
        for i, rec in enumerate(records):
            item = dataset[i]
            if item.error is None:
                waves.append(item.segments)
            else:  # one row without a latent says why the track is missing
                item.rows = [{"segment": -1, "start_s": 0.0, "duration_s": 0.0}]
            for k, values in item.columns().items():
                cols[k] += values
            cols["order"] += [int(rec["order"])] * len(item.rows)
            cols["error"] += [item.error] * len(item.rows)
        latents = encode_segments(self.model, np.concatenate(waves), self.batch_size, self.device,
                                  self.latent_shape, where="the checkpoint") if waves else None
        return _arrow_rows(cols, None if latents is None else latents.reshape(len(latents), -1))


def _arrow_rows(cols: dict[str, list], latents: np.ndarray | None):
    """The actor's output table: error rows get an empty latent, the others take ``latents`` in order."""
    import pyarrow as pa

    dim = latents.shape[1] if latents is not None else 0
    values, offsets, k = [], [0], 0
    for err in cols["error"]:
        if err is None:
            values.append(latents[k])
            k += 1
            offsets.append(offsets[-1] + dim)
        else:
            offsets.append(offsets[-1])
    flat = np.concatenate(values) if values else np.zeros(0, np.float32)
    latent = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(flat, pa.float32()))
    arrays = {k: pa.array(v) for k, v in cols.items()}
    arrays["segment"] = pa.array(cols["segment"], pa.int64())
    arrays["start_s"] = pa.array(cols["start_s"], pa.float64())
    arrays["duration_s"] = pa.array(cols["duration_s"], pa.float64())
    arrays["label"] = pa.array(cols["label"], pa.string())
    arrays["error"] = pa.array(cols["error"], pa.string())
    arrays["latent"] = latent
    return pa.table(arrays)


def _quiet_ray_data(progress: bool) -> None:
    from ray.data import DataContext

    ctx = DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    with contextlib.suppress(AttributeError):
        ctx.enable_operator_progress_bars = False
    if not progress:
        for name in ("ray.data", "ray"):
            logging.getLogger(name).setLevel(logging.WARNING)


@dataclass(frozen=True)
class RayEncodeConfig:
    """What ``encode_corpus_ray`` does, as one value (see its parameters)."""

    checkpoint: Path
    out: Path
    batch_size: int = 16
    segment_seconds: float | None = None
    concurrency: int = 2
    tracks_per_task: int = DEFAULT_TRACKS_PER_TASK
    num_gpus: float | None = None
    cpus_per_actor: float = 1
    address: str | None = None
    resume: bool = True
    progress: bool = True
    row_group_rows: int = 2048


def encode_corpus_ray(*, checkpoint: str | os.PathLike, manifest, out: str | os.PathLike, batch_size: int = 16,
                      segment_seconds: float | None = None, concurrency: int = 2,
                      tracks_per_task: int = DEFAULT_TRACKS_PER_TASK, num_gpus: float | None = None,
                      cpus_per_actor: float = 1, address: str | None = None, resume: bool = True,
                      progress: bool = True, row_group_rows: int = 2048, log=None) -> Path:
    """Encode every track of ``manifest`` with ``checkpoint`` on Ray into the table folder ``out``.

    Same rows, schema and metadata as ``encode_corpus`` (plus ``engine: "ray"``); ``out`` becomes a
    folder of ``part-*.parquet`` files with ``musiclatent.json``. ``concurrency``: actors in the pool;
    ``tracks_per_task``: tracks per ``map_batches`` call (fewer when needed so every actor gets
    work); ``num_gpus``: GPUs per actor (``None``: 1 when the cluster has GPUs, else 0);
    ``address``: an existing cluster ("auto", "ray://head:10001"), else the running Ray or a local
    one with ``concurrency * cpus_per_actor`` CPUs. Unreadable files are skipped and listed in
    ``problems``. Returns ``out``.

    Like ``encode_corpus``, one encode at a time writes a table (the same lock, local or Ray): a
    second one on the same ``out`` raises ``BusyError`` naming the first one's pid.
    """
    config = RayEncodeConfig(
        checkpoint=Path(checkpoint).expanduser().resolve(), out=Path(out).expanduser(), batch_size=batch_size,
        segment_seconds=segment_seconds, concurrency=concurrency, tracks_per_task=tracks_per_task, num_gpus=num_gpus,
        cpus_per_actor=cpus_per_actor, address=address, resume=resume, progress=progress,
        row_group_rows=row_group_rows)
    return run_encode_ray(config, manifest, log=log)


def run_encode_ray(config: RayEncodeConfig, manifest, *, log=None) -> Path:
    """``encode_corpus_ray`` for a ready ``RayEncodeConfig``, holding the table's lock."""
    from musiclatent.latents.inference import stderr_log
    from musiclatent.locks import exclusive

    with exclusive(config.out, "another `musiclatent encode`"):
        return _encode_ray_locked(config, manifest, log or stderr_log)


def _encode_ray_locked(config: RayEncodeConfig, manifest, log) -> Path:
    from musiclatent.latents import inference as core

    c, out = config, config.out
    core.require_positive(out, {"--batch-size": c.batch_size, "--concurrency": c.concurrency,
                                "--tracks-per-task": c.tracks_per_task})
    import_ray()
    manifest = core.manifest_of(manifest)
    encoder = core.load_encoder(c.checkpoint, c.segment_seconds, manifest.root, "cpu")
    metadata = encoder.metadata
    tracks = manifest.tracks.reset_index(drop=True)
    writer = core.open_writer(out, metadata, manifest, tracks, resume=c.resume,
                              row_group_rows=c.row_group_rows, log=log)
    tracks = core.tracks_to_encode(tracks, writer, log)
    tracks["label"] = tracks["label"].astype(object).where(tracks["label"].notna(), None)
    bar = core.Progress(len(tracks), f"encode {metadata['model']} (ray)", c.progress)
    try:
        with ray_session(c.address, num_cpus=int(np.ceil(c.concurrency * c.cpus_per_actor))) as ray:
            if len(tracks):
                _quiet_ray_data(c.progress)
                gpus = c.num_gpus if c.num_gpus is not None else (1 if ray.cluster_resources().get("GPU", 0) > 0 else 0)
                _check_capacity(ray, c.concurrency, c.cpus_per_actor, gpus, log)
                actor = {"checkpoint_bytes": c.checkpoint.read_bytes(), "sha256": encoder.sha256,
                         "root": str(manifest.root), "sample_rate": metadata["sample_rate"],
                         "segment_seconds": encoder.segment_seconds, "batch_size": c.batch_size,
                         "device": "cuda" if gpus else "cpu", "threads": max(1, int(c.cpus_per_actor)),
                         "latent_shape": metadata["latent_shape"]}
                done: set[int] = set()

                def write(block) -> None:
                    bar.audio_s += _write_block(block, writer, metadata, bar.bar, log, done)
                    bar.show_speed()

                _run_pool(ray, tracks, done, write, log, concurrency=c.concurrency, tracks_per_task=c.tracks_per_task,
                          num_gpus=gpus, num_cpus=c.cpus_per_actor, actor_kwargs=actor)
    except BaseException:
        bar.close()
        writer.abort()
        raise
    bar.close()
    return _finish(writer, out, metadata, elapsed_s=round(time.perf_counter() - bar.started, 3),
                   audio_s=round(bar.audio_s, 3))


def _check_capacity(ray, concurrency: int, cpus: float, gpus: float, log) -> None:
    """Say so when the cluster cannot hold the pool: the actors that do not fit wait for nodes."""
    have = ray.cluster_resources()
    for name, per in (("CPU", cpus), ("GPU", gpus)):
        if per and have.get(name, 0) < concurrency * per:
            log(f"the Ray cluster has {have.get(name, 0):g} {name}s for --concurrency {concurrency} actors x "
                f"{per:g} {name}: actors that do not fit wait until nodes join (none fit: the encode waits)")


def _blocks(tracks, concurrency: int, tracks_per_task: int) -> list:
    """Manifest rows in blocks of at most ``tracks_per_task``, and at least ``BLOCKS_PER_ACTOR`` per actor."""
    per = max(1, min(tracks_per_task, -(-len(tracks) // (concurrency * BLOCKS_PER_ACTOR))))
    return [tracks.iloc[i:i + per] for i in range(0, len(tracks), per)]


def _lost_work(ray, exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) says Ray lost a node, an actor or an object, not a bug."""
    lost = (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError, ray.exceptions.NodeDiedError,
            ray.exceptions.WorkerCrashedError, ray.exceptions.LocalRayletDiedError, ray.exceptions.RaySystemError)
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, lost):
            return True
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return False


def _run_pool(ray, tracks, done: set[int], write, log, *, concurrency: int, tracks_per_task: int,
              num_gpus: float, num_cpus: float, actor_kwargs: dict[str, Any]) -> None:
    """Encode ``tracks`` on an actor pool, handing each result block to ``write`` in manifest order.

    Ray Data's actor pool restarts a lost actor (``max_restarts=-1``), retries its tasks
    (``max_task_retries=-1``) and spreads actors over the nodes (``SPREAD``): its defaults,
    kept. Should the job fail all the same for lost work (a node, actor or object gone), the
    tracks not yet written (``done`` holds the manifest positions written) are submitted again,
    up to ``MAX_RESUBMITS`` times; the failed run's pool is shut down first.
    """
    for attempt in range(MAX_RESUBMITS + 1):
        todo = tracks[~tracks["order"].isin(done)]
        if not len(todo):
            return
        blocks = _blocks(todo, concurrency, tracks_per_task)
        results = ray.data.from_pandas(blocks).map_batches(
            TrackEncoder, batch_format="pandas", batch_size=len(blocks[0]), zero_copy_batch=True,
            compute=ray.data.ActorPoolStrategy(size=concurrency), fn_constructor_kwargs=actor_kwargs,
            num_gpus=num_gpus, num_cpus=num_cpus)
        stream = iter(results.iter_batches(batch_size=None, batch_format="pyarrow"))
        try:
            for block in stream:
                write(block)
            return
        except Exception as exc:
            if attempt == MAX_RESUBMITS or not _lost_work(ray, exc):
                raise
            log(f"Ray lost work ({type(exc).__name__}: {_first_line(exc)[:200]}); submitting the "
                f"{len(tracks) - len(done)} tracks not written yet again ({attempt + 1}/{MAX_RESUBMITS})")
        finally:
            close = getattr(stream, "close", None)
            if close is not None:  # stop this run's executor and release its actors
                close()


def _write_block(block, writer, metadata: dict[str, Any], bar, log, done: set[int]) -> float:
    """Hand one block of actor output to the writer, track by track; returns its audio seconds.

    Adds each track's manifest position to ``done``.
    """
    from musiclatent.latents.inference import ROW_COLUMNS
    from musiclatent.latents.schema import fixed_list_to_numpy

    block = block.sort_by([("order", "ascending"), ("segment", "ascending")])
    cols = {k: block.column(k).to_pylist() for k in (*ROW_COLUMNS, "order", "error")}
    good = np.array([e is None for e in cols["error"]], dtype=bool)
    dim = int(np.prod(metadata["latent_shape"]))
    import pyarrow as pa

    lat_col = block.column("latent").filter(pa.array(good))
    lat_col = lat_col.combine_chunks() if hasattr(lat_col, "combine_chunks") else lat_col
    latents = fixed_list_to_numpy(pa.FixedSizeListArray.from_arrays(lat_col.flatten(), dim), dim) \
        if good.any() else np.zeros((0, dim), np.float32)
    audio_s, k, i, n = 0.0, 0, 0, len(good)
    while i < n:
        j = i
        while j < n and cols["order"][j] == cols["order"][i]:
            j += 1
        if not good[i]:
            writer.add_problem(cols["path"][i], cols["error"][i])
            log(f"skipped {cols['path'][i]}: {cols['error'][i]}")
        else:
            rows = {c: cols[c][i:j] for c in ROW_COLUMNS}
            writer.write(rows, latents[k:k + (j - i)])
            k += j - i
            audio_s += float(sum(rows["duration_s"]))
        done.add(int(cols["order"][i]))  # written, or listed as a problem
        bar.update(1)
        i = j
    return audio_s


def _finish(writer, out: Path, metadata: dict[str, Any], **updates: Any) -> Path:
    """Flush, mark the partial folder complete (``musiclatent.json``) and swap it in at ``out``."""
    import pyarrow.parquet as pq

    from musiclatent.fileio import swap_folder
    from musiclatent.latents.schema import table_schema
    from musiclatent.latents.writer import write_folder_metadata

    writer.flush()
    partial = writer.partial
    if not any(partial.glob("part-*.parquet")):  # nothing encoded: one empty part keeps it a table
        schema = table_schema(int(np.prod(metadata["latent_shape"])), writer.metadata)
        pq.write_table(schema.empty_table(), partial / "part-000000.parquet")
    meta = {**writer.metadata, **updates, "engine": "ray", "problems": writer.problems,
            "num_rows": writer.rows_written}
    write_folder_metadata(partial, meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    swap_folder(partial, out)
    return out


__all__ = ["DEFAULT_TRACKS_PER_TASK", "RayEncodeConfig", "RayMissingError", "TrackEncoder", "encode_corpus_ray",
           "import_ray", "ray_session", "run_encode_ray"]
