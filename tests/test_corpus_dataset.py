"""The decoded-audio cache, SegmentDataset and its DataLoader."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from corpus_helpers import gtzan_like, sine, write

from musiclatent.corpus import cache as cache_mod
from musiclatent.corpus.audio import read_audio
from musiclatent.corpus.cache import AudioCache
from musiclatent.corpus.dataset import SegmentDataset, make_loader
from musiclatent.corpus.manifest import scan_corpus

torch.set_num_threads(1)


@pytest.fixture
def corpus(tmp_path):
    return gtzan_like(tmp_path / "c", per_genre=3, seconds=2.5, sr=16000)


@pytest.fixture
def reads(monkeypatch):
    """Count decodes done by the cache."""
    calls: list[str] = []

    def counting(path, sample_rate=22050):
        calls.append(os.path.basename(path))
        return read_audio(path, sample_rate)

    monkeypatch.setattr(cache_mod, "read_audio", counting)
    return calls


def test_dataset_shapes_labels_and_meta(corpus):
    m = scan_corpus(corpus, progress=False)
    ds = SegmentDataset(m, split=None, segment_seconds=1.0)
    assert ds.label_names == ["blues", "jazz"]
    assert len(ds) == 6 * 2  # 2.5 s -> 2 full segments; the 0.5 s tail (< 1 s) is dropped
    x, y, meta = ds[0]
    assert x.shape == (1, 22050) and x.dtype == torch.float32
    assert y == 0 and meta["label"] == "blues" and meta["segment"] == 0
    assert set(meta) == {"track_id", "path", "label", "split", "segment", "start_s", "duration_s", "padded"}
    train = SegmentDataset(m, split="train", segment_seconds=1.0)
    assert 0 < len(train) < len(ds) and {train[i][2]["split"] for i in range(len(train))} == {"train"}


def test_tail_of_half_a_second_is_kept_when_min_tail_allows(corpus):
    m = scan_corpus(corpus, progress=False)
    ds = SegmentDataset(m, split=None, segment_seconds=1.0, min_tail_seconds=0.25)
    assert len(ds) == 6 * 3
    ds2 = SegmentDataset(m, split=None, segment_seconds=2.0)
    metas = [ds2[i][2] for i in range(len(ds2))]
    assert len(metas) == 6 and not any(mm["padded"] for mm in metas)  # 0.5 s tail < 1 s: dropped


def test_cache_second_epoch_does_not_decode(corpus, tmp_path, reads):
    m = scan_corpus(corpus, progress=False)
    ds = SegmentDataset(m, split=None, segment_seconds=1.0, cache_dir=tmp_path / "cache")
    assert len(reads) == 6
    loader = make_loader(ds, batch_size=4, shuffle=True, seed=1)
    epoch1 = [b[0].clone() for b in loader]
    epoch2 = [b[0].clone() for b in loader]
    assert len(reads) == 6  # iterating never decodes
    assert sum(b.shape[0] for b in epoch1) == len(ds) and len(epoch1) == len(epoch2)
    again = SegmentDataset(m, split=None, segment_seconds=1.0, cache_dir=tmp_path / "cache")
    assert len(reads) == 6 and len(again) == len(ds)
    # cached samples equal a fresh decode
    plain = SegmentDataset(m, split=None, segment_seconds=1.0)
    for i in (0, 5, len(ds) - 1):
        assert torch.equal(again[i][0], plain[i][0])


def test_cache_invalidated_by_mtime_and_size(corpus, tmp_path, reads):
    m = scan_corpus(corpus, progress=False)
    SegmentDataset(m, split=None, cache_dir=tmp_path / "cache")
    assert len(reads) == 6
    target = corpus / "jazz" / "jazz.00001.wav"
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    SegmentDataset(m, split=None, cache_dir=tmp_path / "cache")
    assert reads[6:] == ["jazz.00001.wav"]
    write(target, sine(2.5, 16000, freq=1000.0), 16000)  # new content
    ds = SegmentDataset(m, split=None, segment_seconds=1.0, cache_dir=tmp_path / "cache")
    assert reads[7:] == ["jazz.00001.wav"]
    i = next(i for i in range(len(ds)) if ds[i][2]["track_id"] == "jazz/jazz.00001")
    np.testing.assert_allclose(ds[i][0][0].numpy(), read_audio(target)[:22050], atol=1e-6)


def test_cache_compacts_and_survives_pickling(corpus, tmp_path):
    import pickle

    m = scan_corpus(corpus, progress=False)
    cache = AudioCache(tmp_path / "cache", m.root, 22050)
    pairs = list(zip(m.tracks["track_id"], m.tracks["path"], strict=True))
    cache.ensure(pairs, progress=False)
    first = cache.get(pairs[0][0]).copy()
    clone = pickle.loads(pickle.dumps(cache))
    assert clone._map is None and np.array_equal(clone.get(pairs[0][0]), first)
    assert cache.get(pairs[0][0]).flags.writeable is False


def test_loader_with_workers_reads_the_cache(corpus, tmp_path):
    m = scan_corpus(corpus, progress=False)
    ds = SegmentDataset(m, split=None, segment_seconds=1.0, cache_dir=tmp_path / "cache")
    batches = list(make_loader(ds, batch_size=5, workers=1))
    x, y, meta = batches[0]
    assert x.shape == (5, 1, 22050) and y.dtype == torch.long
    assert isinstance(meta["track_id"], list) and len(meta["padded"]) == 5
    assert sum(b[0].shape[0] for b in batches) == len(ds)
