"""Cut waves into fixed-length segments (the seed used 5 s = 110250 samples at 22050 Hz).

Rule for the tail: full segments are taken from the start; the remaining partial piece becomes a
last segment, zero-padded and marked ``padded``, only if it holds at least ``min_tail_seconds``
(default 1 s) of real audio — or if it is the only segment (a clip shorter than one segment is
never dropped). So a GTZAN clip of 30.01 s gives 6 segments and drops the last 0.01 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.errors import MusiclatentError

DEFAULT_SEGMENT_SECONDS = 5.0
DEFAULT_MIN_TAIL_SECONDS = 1.0


@dataclass(frozen=True)
class Segment:
    """Where one segment lies in its track: start and real (unpadded) length, in samples."""

    index: int
    start: int
    length: int
    padded: bool

    def start_s(self, sample_rate: int) -> float:
        return self.start / sample_rate

    def duration_s(self, sample_rate: int) -> float:
        return self.length / sample_rate


def segment_samples(seconds: float, sample_rate: int) -> int:
    """Samples in a segment of ``seconds`` at ``sample_rate`` (5 s at 22050 Hz -> 110250)."""
    n = int(round(float(seconds) * int(sample_rate)))
    if n <= 0:
        raise ValueError(f"segment length must be positive, got {seconds} s at {sample_rate} Hz")
    return n


def plan_segments(
    n_samples: int, seg_len: int, min_tail: int | None = None, sample_rate: int = DEFAULT_SAMPLE_RATE
) -> list[Segment]:
    """Segments of a wave of ``n_samples`` (see the module doc for the tail rule)."""
    if min_tail is None:
        min_tail = int(round(DEFAULT_MIN_TAIL_SECONDS * sample_rate))
    if n_samples <= 0:
        return []
    full, rest = divmod(int(n_samples), int(seg_len))
    out = [Segment(i, i * seg_len, seg_len, False) for i in range(full)]
    if rest and (rest >= min_tail or full == 0):
        out.append(Segment(full, full * seg_len, rest, True))
    return out


def take_segment(wave: np.ndarray, seg: Segment, seg_len: int) -> np.ndarray:
    """The samples of ``seg`` from ``wave``, zero-padded to ``seg_len`` (float32)."""
    piece = np.array(wave[seg.start: seg.start + seg_len], dtype=np.float32)  # a writable copy
    if piece.shape[0] < seg_len:
        piece = np.pad(piece, (0, seg_len - piece.shape[0]))
    return piece


def cut_segments(
    wave: np.ndarray, sample_rate: int, seconds: float = DEFAULT_SEGMENT_SECONDS,
    min_tail_seconds: float = DEFAULT_MIN_TAIL_SECONDS,
) -> tuple[np.ndarray, list[dict]]:
    """Cut ``wave`` into ``[n, seg_len]`` segments and their ``start_s``/``duration_s``/``padded``."""
    seg_len = segment_samples(seconds, sample_rate)
    plan = plan_segments(len(wave), seg_len, int(round(min_tail_seconds * sample_rate)), sample_rate)
    segments = np.zeros((len(plan), seg_len), dtype=np.float32)
    meta = []
    for i, seg in enumerate(plan):
        segments[i] = take_segment(wave, seg, seg_len)
        meta.append({"segment": seg.index, "start_s": seg.start_s(sample_rate),
                     "duration_s": seg.duration_s(sample_rate), "padded": seg.padded})
    return segments, meta


class SegmentLengthError(MusiclatentError, ValueError):
    """Every track is shorter than one segment: all segments would be mostly zero padding."""


def check_segment_length(durations, seconds: float) -> str | None:
    """``None`` when every track holds at least one full segment of ``seconds``; a one-line warning
    when some tracks are shorter (they are zero-padded); raises ``SegmentLengthError`` when all are."""
    values = [float(d) for d in durations if d == d]  # NaN: unknown length, not counted
    short = [d for d in values if d + 1e-6 < float(seconds)]
    if not values or not short:
        return None
    if len(short) == len(values):
        longest = max(values)
        raise SegmentLengthError(
            f"--segment-seconds {seconds:g} is longer than every track (the longest is {longest:.2f} s), "
            f"so every segment would be zero-padded; use --segment-seconds {int(longest * 100) / 100:g} or less")
    return (f"{len(short)} of {len(values)} tracks are shorter than --segment-seconds {seconds:g} "
            f"(the shortest is {min(short):.2f} s); their single segment is zero-padded")
