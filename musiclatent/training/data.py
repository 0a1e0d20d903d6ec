"""The trainer's helpers around data: datasets per split, epoch-seeded order, validation and the
fixed reference segment whose reconstruction is saved after every epoch."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from musiclatent.metrics.audio import mel_distance, si_sdr
from musiclatent.training.state import epoch_generator, plain

SPLITS = ("train", "validation", "test")


def load_datasets(ws, data, sample_rate: int, segment_seconds: float, progress: bool = True,
                  cache: bool = True) -> dict[str, Any]:
    """The corpus manifest of the workspace (or ``data``) as one ``SegmentDataset`` per split
    (reading through the workspace's decoded-audio cache unless ``cache`` is false)."""
    from musiclatent.corpus.dataset import SegmentDataset
    from musiclatent.workspace import load_manifest

    manifest = load_manifest(ws, data, sample_rate=sample_rate, progress=progress)
    sets: dict[str, Any] = {
        split: SegmentDataset(manifest, split=split, sample_rate=sample_rate, segment_seconds=segment_seconds,
                              cache_dir=ws.cache_dir if cache else None)
        for split in SPLITS
    }
    tracks = manifest.tracks
    sets["root"] = str(manifest.root)
    sets["info"] = {
        "corpus": str(manifest.root), "sample_rate": int(sample_rate), "segment_seconds": float(segment_seconds),
        "tracks": {s: int((tracks["split"] == s).sum()) for s in SPLITS},
        "segments": {s: len(sets[s]) for s in SPLITS}, "labels": list(manifest.labels), "cache": bool(cache),
        "problems": [p for s in SPLITS for p in getattr(sets[s], "problems", [])],
    }
    return sets


def subset(dataset: Dataset, limit: int | None, seed: int) -> Dataset:
    """At most ``limit`` segments of ``dataset``, a seeded random choice kept in dataset order."""
    if limit is None or limit >= len(dataset):
        return dataset
    chosen = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[: max(int(limit), 1)]
    return Subset(dataset, sorted(chosen.tolist()))


class EpochSampler(Sampler[int]):
    """A shuffled order that depends only on ``(seed, epoch)``; call ``set_epoch`` before each epoch."""

    def __init__(self, n: int, seed: int, shuffle: bool = True):
        self.n, self.seed, self.shuffle, self.epoch = n, seed, shuffle, 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self):
        if not self.shuffle:
            return iter(range(self.n))
        return iter(torch.randperm(self.n, generator=epoch_generator(self.seed, self.epoch)).tolist())

    def __len__(self) -> int:
        return self.n


def make_train_loader(dataset: Dataset, batch_size: int, workers: int, seed: int) -> DataLoader:
    """Training batches in an order set by ``loader.sampler.set_epoch(epoch)``."""
    from musiclatent.corpus.dataset import collate_segments

    return DataLoader(dataset, batch_size=batch_size, sampler=EpochSampler(len(dataset), seed),
                      collate_fn=collate_segments,
                      num_workers=workers, persistent_workers=workers > 0, drop_last=False)


def validate(net, dataset: Dataset, loss_fn, batch_size: int, device, sample_rate: int) -> dict[str, float]:
    """Mean loss, SI-SDR (dB) and mel distance over ``dataset`` (in order, no gradient)."""
    from musiclatent.corpus.dataset import collate_segments

    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_segments)
    net.eval()
    sums = {"val_loss": 0.0, "val_si_sdr": 0.0, "val_mel": 0.0}
    n = 0
    with torch.no_grad():
        for wave, _, _ in loader:
            wave = wave.to(device)
            out = net(wave)
            b = wave.shape[0]
            sums["val_loss"] += float(loss_fn(out, wave)) * b
            sums["val_si_sdr"] += float(si_sdr(wave, out).sum())
            sums["val_mel"] += float(mel_distance(wave, out, sample_rate).sum())
            n += b
    return {k: v / max(n, 1) for k, v in sums.items()}


def reference_segment(sets: dict[str, Any]) -> dict[str, Any]:
    """The first segment of the first test track (validation, then train, when test is empty)."""
    for split in ("test", "validation", "train"):
        if len(sets[split]):
            wave, label, meta = sets[split][0]
            return {"wave": torch.as_tensor(wave, dtype=torch.float32).reshape(1, 1, -1),
                    "meta": {"split": split, "label_index": plain(label), **plain(dict(meta or {}))}}
    raise ValueError("no segments in any split")


def write_original(run_dir: Path, reference: dict[str, Any], sample_rate: int) -> None:
    from musiclatent.corpus.audio import write_audio
    from musiclatent.fileio import atomic_path

    recon = run_dir / "recon"
    recon.mkdir(parents=True, exist_ok=True)
    wave = reference["wave"][0, 0].numpy()
    with atomic_path(recon / "original.npy", suffix=".tmp.npy") as tmp:
        np.save(tmp, wave)
    write_audio(recon / "original.wav", wave, sample_rate)


def write_reconstruction(run_dir: Path, net, reference: dict[str, Any], epoch: int, device,
                         sample_rate: int) -> float:
    """Save the reference's reconstruction as ``recon/epoch_NNN.{npy,wav}``; returns its SI-SDR."""
    from musiclatent.corpus.audio import write_audio
    from musiclatent.fileio import atomic_path

    net.eval()
    with torch.no_grad():
        out = net(reference["wave"].to(device)).cpu()
    wave = out[0, 0].numpy().astype(np.float32)
    stem = run_dir / "recon" / f"epoch_{epoch:03d}"
    with atomic_path(stem.with_suffix(".npy"), suffix=".tmp.npy") as tmp:
        np.save(tmp, wave)
    write_audio(stem.with_suffix(".wav"), wave, sample_rate)
    value = float(si_sdr(reference["wave"], out)[0])
    return value if math.isfinite(value) else float("nan")


def clear_run_outputs(run_dir: Path) -> None:
    """Remove what a previous run left in ``run_dir`` before starting afresh."""
    for name in ("metrics.jsonl", "last.state.pt", "last.safetensors", "best.safetensors"):
        (run_dir / name).unlink(missing_ok=True)
    recon = run_dir / "recon"
    if recon.is_dir():
        for f in recon.glob("epoch_*"):
            f.unlink(missing_ok=True)


def progress_bar(total: int, desc: str, enabled: bool):
    """One epoch's bar on stderr: segments done, loss so far, segments/s and ETA (only on a terminal)."""
    import sys

    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="seg", disable=None if enabled else True, dynamic_ncols=True,
                leave=False, file=sys.stderr)
