"""Every kind of bad input is either handled correctly or reported and skipped; a scan never dies."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from corpus_helpers import sine, write

from musiclatent.corpus.audio import audio_info, read_audio
from musiclatent.corpus.dataset import SegmentDataset
from musiclatent.corpus.errors import AudioReadError
from musiclatent.corpus.manifest import scan_corpus

torch.set_num_threads(1)


def _wav_bytes(tmp_path, seconds=1.0, sr=22050):
    path = write(tmp_path / "src" / "ok.wav", sine(seconds, sr), sr)
    return path.read_bytes()


@pytest.fixture
def messy(tmp_path):
    """A corpus holding one file of every bad kind next to good ones."""
    root = tmp_path / "messy"
    good = _wav_bytes(tmp_path)
    write(root / "good.wav", sine(1.0, 22050), 22050)
    (root / "truncated_data.wav").write_bytes(good[: len(good) // 2])  # header intact, data cut
    (root / "truncated_header.wav").write_bytes(good[:30])  # cut inside the header
    (root / "corrupt.wav").write_bytes(b"RIFF" + os.urandom(200))
    (root / "empty.wav").write_bytes(b"")
    (root / "text.wav").write_text("this is not audio, it is a note\n")
    write(root / "zero.wav", np.zeros(0, dtype=np.float32), 22050)
    nan = sine(0.5, 22050)
    nan[10] = np.nan
    write(root / "nan.wav", nan, 22050, subtype="FLOAT")
    inf = sine(0.5, 22050)
    inf[3] = -np.inf
    write(root / "inf.wav", inf, 22050, subtype="FLOAT")
    (root / "folder.wav").mkdir()
    os.symlink(root / "nowhere.wav", root / "dangling.wav")
    write(root / "rate8k.wav", sine(1.0, 8000), 8000)
    write(root / "rate96k.wav", sine(1.0, 96000), 96000)
    write(root / "stereo.wav", sine(1.0, 22050, channels=2), 22050)
    write(root / "six.wav", sine(1.0, 22050, channels=6), 22050)
    write(root / "tiny.wav", sine(10 / 22050, 22050), 22050)
    write(os.path.join(os.fsencode(root), b"caf\xe9.wav"), sine(0.5, 22050), 22050)
    write(root / "<script>alert(1)</script>.wav", sine(0.5, 22050), 22050)  # '/' makes a sub folder
    write(root / "notes.txt.wav.bak", sine(0.1, 22050), 22050)  # not an audio extension: ignored
    return root


KEPT = {"good", "truncated_data", "rate8k", "rate96k", "stereo", "six", "tiny", "<script>alert(1)</script>"}
REPORTED = {
    "truncated_header.wav": "not a readable audio file",
    "corrupt.wav": "not a readable audio file",
    "empty.wav": "empty file (0 bytes)",
    "text.wav": "not a readable audio file",
    "zero.wav": "zero-length audio",
    "nan.wav": "NaN or infinite",
    "inf.wav": "NaN or infinite",
    "folder.wav": "is a directory",
    "dangling.wav": "dangling symbolic link",
    "caf\\xe9.wav": "not valid UTF-8",
}


def test_scan_keeps_good_files_and_reports_every_bad_one(messy):
    m = scan_corpus(messy, progress=False, jobs=2)
    assert set(m.tracks["track_id"]) == KEPT
    problems = dict(zip(m.problems["path"], m.problems["reason"], strict=True))
    assert set(problems) == set(REPORTED)
    for path, words in REPORTED.items():
        assert words in problems[path], (path, problems[path])
    t = m.tracks.set_index("track_id")
    assert t.loc["truncated_data", "frames"] < 22050  # read up to the cut
    assert t.loc["rate96k", "sample_rate"] == 96000 and t.loc["six", "channels"] == 6
    assert t.loc["tiny", "frames"] == 10
    assert t.loc["<script>alert(1)</script>", "path"] == "<script>alert(1)</script>.wav"


def test_quick_scan_reads_headers_only(messy):
    m = scan_corpus(messy, progress=False, quick=True)
    # NaN samples are only found by decoding; headers alone look fine
    assert {"nan", "inf"} <= set(m.tracks["track_id"])
    assert "empty.wav" in set(m.problems["path"])


def test_manifest_with_problems_round_trips(messy, tmp_path):
    from musiclatent.corpus.manifest import Manifest

    m = scan_corpus(messy, progress=False)
    m.save(tmp_path / "m.parquet")
    back = Manifest.load(tmp_path / "m.parquet")
    assert back.problems.equals(m.problems) and back.tracks.equals(m.tracks)


def test_dataset_over_messy_corpus(messy):
    m = scan_corpus(messy, progress=False)
    ds = SegmentDataset(m, split=None, segment_seconds=0.5)
    shapes = {tuple(ds[i][0].shape) for i in range(len(ds))}
    assert shapes == {(1, 11025)}
    tiny = [ds[i][2] for i in range(len(ds)) if ds[i][2]["track_id"] == "tiny"]
    assert len(tiny) == 1 and tiny[0]["padded"] and tiny[0]["duration_s"] == pytest.approx(10 / 22050)


def test_file_broken_after_scan_is_skipped_by_dataset(tmp_path):
    root = tmp_path / "c"
    for name in ("a", "b"):
        write(root / f"{name}.wav", sine(1.0, 22050), 22050)
    m = scan_corpus(root, progress=False)
    (root / "a.wav").write_text("overwritten by a text editor")
    ds = SegmentDataset(m, split=None, segment_seconds=1.0)
    items = [ds[i][2]["track_id"] for i in range(len(ds))]
    assert items == ["b", "b"]
    assert [p["path"] for p in ds.problems] == ["a.wav"]
    cached = SegmentDataset(m, split=None, segment_seconds=1.0, cache_dir=tmp_path / "cache")
    assert len(cached) == 1 and cached.problems[0]["path"] == "a.wav"


def test_long_file_is_fine(tmp_path):
    rng = np.random.default_rng(0)
    ten_minutes = (rng.standard_normal(600 * 8000) * 1e-4).astype(np.float32)
    path = write(tmp_path / "long.wav", ten_minutes, 8000)
    assert audio_info(path).duration_s == pytest.approx(600.0)
    m = scan_corpus(path, progress=False, quick=True)
    ds = SegmentDataset(m, split=None)
    assert len(ds) == 120 and ds[119][2]["start_s"] == pytest.approx(595.0)


@pytest.mark.parametrize("name,reason", [("missing.wav", "does not exist"), ("empty.wav", "empty file")])
def test_read_audio_names_the_file(tmp_path, name, reason):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioReadError, match=reason) as info:
        read_audio(tmp_path / name)
    assert str(info.value).startswith(str(tmp_path / name))
