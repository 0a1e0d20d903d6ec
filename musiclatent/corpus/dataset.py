"""A torch ``Dataset`` over fixed-length segments of a manifest's tracks, and its DataLoader.

Each item is ``(segment FloatTensor[1, T], label_index, meta)``; ``label_index`` indexes
``dataset.label_names`` (all labels of the corpus, so indices agree across splits) and is -1 for
unlabelled tracks. With ``cache_dir`` the tracks are decoded once into an :class:`AudioCache`
when the dataset is made (files that fail are skipped there and listed in ``problems``), and
every later read is a memory-map slice. Without a cache each track is decoded on demand (the
last two decoded tracks are kept per process); a file that fails then is listed in ``problems``
of that process and the next readable segment is returned instead.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

import numpy as np

from musiclatent.corpus.audio import read_audio, resampled_length
from musiclatent.corpus.cache import AudioCache
from musiclatent.corpus.errors import AudioReadError, CorpusError
from musiclatent.corpus.manifest import Manifest
from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.corpus.segments import (
    DEFAULT_MIN_TAIL_SECONDS,
    DEFAULT_SEGMENT_SECONDS,
    Segment,
    plan_segments,
    segment_samples,
    take_segment,
)

try:  # torch is a dependency, but keep this module importable for type checks without it
    from torch.utils.data import Dataset as _Base
except ImportError:  # pragma: no cover
    _Base = object  # type: ignore[misc,assignment]


class SegmentDataset(_Base):
    """All segments of the tracks in ``split`` (``None``: every track) of ``manifest``."""

    def __init__(
        self,
        manifest: Manifest,
        split: str | None = "train",
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
        cache_dir: str | os.PathLike | None = None,
        min_tail_seconds: float = DEFAULT_MIN_TAIL_SECONDS,
        progress: bool = False,
    ):
        self.manifest = manifest
        self.split = split
        self.sample_rate = int(sample_rate)
        self.segment_seconds = float(segment_seconds)
        self.segment_length = segment_samples(segment_seconds, sample_rate)
        self.label_names: list[str] = manifest.labels
        self._label_index = {name: i for i, name in enumerate(self.label_names)}
        self.problems: list[dict[str, str]] = []
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

        tracks = manifest.split(split).reset_index(drop=True)
        self.cache: AudioCache | None = None
        if cache_dir is not None and len(tracks):
            self.cache = AudioCache(cache_dir, manifest.root, self.sample_rate)
            failed = self.cache.ensure(zip(tracks["track_id"], tracks["path"], strict=True), progress=progress)
            for tid, reason in failed.items():
                rel = tracks.loc[tracks["track_id"] == tid, "path"].iloc[0]
                self.problems.append({"path": rel, "reason": f"{reason}; skipped"})
            tracks = tracks[~tracks["track_id"].isin(list(failed))].reset_index(drop=True)
        self.tracks = tracks

        min_tail = int(round(min_tail_seconds * self.sample_rate))
        items: list[tuple[int, int, int, int, bool]] = []
        for row, t in enumerate(tracks.itertuples(index=False)):
            if self.cache is not None:
                n = int(self.cache.index[t.track_id]["length"])
            else:
                n = resampled_length(int(t.frames), int(t.sample_rate), self.sample_rate)
            for seg in plan_segments(n, self.segment_length, min_tail, self.sample_rate):
                items.append((row, seg.index, seg.start, seg.length, seg.padded))
        self._items = np.array([i[:4] for i in items], dtype=np.int64).reshape(-1, 4)
        self._padded = np.array([i[4] for i in items], dtype=bool)

    def __len__(self) -> int:
        return int(self._items.shape[0])

    @property
    def num_tracks(self) -> int:
        return int(len(self.tracks))

    def _wave(self, row: int) -> np.ndarray:
        t = self.tracks.iloc[row]
        if self.cache is not None:
            return self.cache.get(t["track_id"])
        tid = t["track_id"]
        if tid in self._recent:
            self._recent.move_to_end(tid)
            return self._recent[tid]
        wave = read_audio(self.manifest.abspath(t["path"]), self.sample_rate)
        self._recent[tid] = wave
        while len(self._recent) > 2:
            self._recent.popitem(last=False)
        return wave

    def __getitem__(self, index: int):
        import torch

        n = len(self)
        index = int(index)
        if not -n <= index < n:
            raise IndexError(f"segment {index} out of range for {n} segments")
        for attempt in range(n):
            i = (index + attempt) % n
            row, seg_index, start, length = (int(x) for x in self._items[i])
            t = self.tracks.iloc[row]
            try:
                wave = self._wave(row)
            except AudioReadError as exc:
                if not any(p["path"] == t["path"] for p in self.problems):
                    self.problems.append({"path": t["path"], "reason": f"{exc.reason}; skipped"})
                continue
            segment = take_segment(wave, Segment(seg_index, start, length, False), self.segment_length)
            real = max(0, min(length, int(wave.shape[0]) - start))
            label = t["label"]
            meta = {
                "track_id": t["track_id"], "path": t["path"], "label": label, "split": t["split"],
                "segment": seg_index, "start_s": start / self.sample_rate,
                "duration_s": real / self.sample_rate, "padded": bool(self._padded[i]),
            }
            label_index = self._label_index.get(label, -1) if label is not None else -1
            return torch.from_numpy(segment).unsqueeze(0), label_index, meta
        raise CorpusError("no readable audio left in the dataset; see dataset.problems")


def collate_segments(batch: list[tuple[Any, int, dict]]) -> tuple[Any, Any, dict[str, list]]:
    """Stack segments to ``[B, 1, T]``, labels to a LongTensor, and meta to a dict of lists."""
    import torch

    segments = torch.stack([b[0] for b in batch])
    labels = torch.tensor([b[1] for b in batch], dtype=torch.long)
    meta: dict[str, list] = {k: [b[2][k] for b in batch] for k in batch[0][2]} if batch else {}
    return segments, labels, meta


def make_loader(
    dataset: SegmentDataset, batch_size: int = 10, shuffle: bool = False, workers: int = 0,
    seed: int = 0, drop_last: bool = False,
):
    """A DataLoader over ``dataset`` with a seeded shuffle and :func:`collate_segments`."""
    import torch
    from torch.utils.data import DataLoader

    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return DataLoader(
        dataset, batch_size=int(batch_size), shuffle=bool(shuffle), num_workers=int(workers),
        collate_fn=collate_segments, generator=generator, drop_last=drop_last,
        persistent_workers=workers > 0, pin_memory=False,
    )
