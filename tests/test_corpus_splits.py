"""Deterministic stratified splits and fixed-length segments."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musiclatent.corpus.segments import cut_segments, plan_segments, segment_samples
from musiclatent.corpus.splits import assign_splits, split_sizes


def _gtzan(n_per=100, genres=10):
    ids = [f"genres/g{g}/g{g}.{i:05d}" for g in range(genres) for i in range(n_per)]
    return ids, [i.split("/")[1] for i in ids]


def test_gtzan_size_is_100_100_800_stratified():
    ids, labels = _gtzan()
    splits = assign_splits(ids, labels, seed=0)
    assert Counter(splits) == {"train": 800, "validation": 100, "test": 100}
    per = Counter((lab, s) for lab, s in zip(labels, splits, strict=True))
    assert all(per[(f"g{g}", "validation")] == 10 and per[(f"g{g}", "test")] == 10 for g in range(10))


def test_deterministic_and_seed_dependent():
    ids, labels = _gtzan(10, 5)
    assert assign_splits(ids, labels, seed=3) == assign_splits(list(ids), list(labels), seed=3)
    assert assign_splits(ids, labels, seed=3) != assign_splits(ids, labels, seed=4)


def test_adding_a_track_does_not_reshuffle():
    ids, labels = _gtzan(50, 4)
    before = assign_splits(ids, labels)
    after = assign_splits([*ids, "genres/g0/new"], [*labels, "g0"])
    moved = sum(a != b for a, b in zip(before, after[:-1], strict=True))
    assert moved <= 2


def test_small_and_unlabelled():
    ids = [f"t{i}" for i in range(50)]
    splits = assign_splits(ids, [None] * 25 + ["a"] * 25)
    assert Counter(splits) == {"train": 40, "validation": 5, "test": 5}
    assert assign_splits(["x"], [None]) == ["train"]
    assert sorted(assign_splits(["x", "y"], ["a", "b"])) == ["train", "validation"]


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=3, max_size=60), st.integers(0, 5))
def test_never_empty_splits_from_three_tracks(labels, seed):
    ids = [f"t{i}" for i in range(len(labels))]
    counts = Counter(assign_splits(ids, labels, seed=seed))
    assert counts["train"] >= 1 and counts["validation"] >= 1 and counts["test"] >= 1
    assert (counts["validation"], counts["test"]) == split_sizes(len(ids))


def test_segment_samples_matches_seed():
    assert segment_samples(5.0, 22050) == 110250
    with pytest.raises(ValueError):
        segment_samples(0, 22050)


def test_segments_tail_rule():
    sr = 100
    # 30.01 s (GTZAN-like): 6 full segments, the 0.01 s tail is dropped
    assert [s.padded for s in plan_segments(3001, 500, sample_rate=sr)] == [False] * 6
    # 12 s: 2 full + a padded 2 s tail
    plan = plan_segments(1200, 500, sample_rate=sr)
    assert [(s.start, s.length, s.padded) for s in plan] == [(0, 500, False), (500, 500, False), (1000, 200, True)]
    # shorter than one segment and than the tail minimum: still one padded segment
    assert [(s.length, s.padded) for s in plan_segments(10, 500, sample_rate=sr)] == [(10, True)]
    assert plan_segments(0, 500) == []


def test_cut_segments_pads_with_zeros():
    wave = np.arange(1, 1201, dtype=np.float32)
    segs, meta = cut_segments(wave, 100, seconds=5.0)
    assert segs.shape == (3, 500) and segs.dtype == np.float32
    assert segs[2, 199] == 1200 and not segs[2, 200:].any()
    assert meta[2] == {"segment": 2, "start_s": 10.0, "duration_s": 2.0, "padded": True}
