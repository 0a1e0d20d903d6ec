"""Deterministic, stratified train/validation/test splits.

The seed report held out 100 validation and 100 test songs of GTZAN's 1000 (10 %/10 %),
stratified by genre. Here:

* sizes: ``round(10 % of n)`` each for validation and test, at least 1 each once the corpus has
  3 or more tracks (1 track: train only; 2 tracks: train + validation);
* stratified: every label (unlabelled tracks form their own group) gets its share by the
  largest-remainder method, ties broken by label name;
* stable: inside a label, tracks are ordered by ``sha1(seed, track_id)``; the first ones go to
  validation, the next to test. Adding a track moves at most a few others, not everything.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

TRAIN, VALIDATION, TEST = "train", "validation", "test"
SPLITS = (TRAIN, VALIDATION, TEST)


def split_sizes(n: int, fraction: float = 0.1) -> tuple[int, int]:
    """(validation, test) sizes for ``n`` tracks: 100/100 for 1000, never 0 when ``n >= 3``."""
    if n <= 1:
        return 0, 0
    if n == 2:
        return 1, 0
    k = max(1, int(math.floor(n * fraction + 0.5)))
    k = min(k, (n - 1) // 2)
    return k, k


def _order_key(seed: int, track_id: str) -> str:
    return hashlib.sha1(f"{seed}\0{track_id}".encode("utf-8", "surrogateescape")).hexdigest()


def _allocate(total: int, sizes: dict[str, int], caps: dict[str, int]) -> dict[str, int]:
    """Share ``total`` among groups proportionally to ``sizes`` (largest remainder, capped)."""
    n = sum(sizes.values())
    out = {g: 0 for g in sizes}
    if total <= 0 or n == 0:
        return out
    quotas = {g: total * s / n for g, s in sizes.items()}
    for g in sizes:
        out[g] = min(int(math.floor(quotas[g])), caps[g])
    rest = total - sum(out.values())
    order = sorted(sizes, key=lambda g: (-(quotas[g] - math.floor(quotas[g])), -sizes[g], g))
    while rest > 0:
        progressed = False
        for g in order:
            if rest and out[g] < caps[g]:
                out[g] += 1
                rest -= 1
                progressed = True
        if not progressed:
            break
    return out


def assign_splits(
    track_ids: Sequence[str], labels: Sequence[str | None], seed: int = 0, fraction: float = 0.1
) -> list[str]:
    """Split name (train/validation/test) for each track, stratified by label."""
    if len(track_ids) != len(labels):
        raise ValueError("track_ids and labels differ in length")
    n = len(track_ids)
    n_val, n_test = split_sizes(n, fraction)
    groups: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault("\0none" if label is None else f"={label}", []).append(i)
    for members in groups.values():
        members.sort(key=lambda i: (_order_key(seed, track_ids[i]), track_ids[i]))
    sizes = {g: len(m) for g, m in groups.items()}
    val = _allocate(n_val, sizes, sizes)
    left = {g: sizes[g] - val[g] for g in groups}
    # keep one training track per group when possible, so every label is trained on
    caps = {g: max(0, left[g] - 1) if sizes[g] > 2 else left[g] for g in groups}
    if sum(caps.values()) < n_test:
        caps = left
    test = _allocate(n_test, sizes, caps)
    result = [TRAIN] * n
    for g, members in groups.items():
        for i in members[: val[g]]:
            result[i] = VALIDATION
        for i in members[val[g]: val[g] + test[g]]:
            result[i] = TEST
    return result
