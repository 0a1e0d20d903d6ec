"""The synthetic demo corpus: determinism, file layout and format, sanity of the audio, resume."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from musiclatent.corpus.errors import CorpusError
from musiclatent.corpus.synth import GENRES, render_track, synthesize_corpus, track_seed
from musiclatent.corpus.synth_dsp import Instrument, fast_len, render_note

SR = 22050


def _centroid(x: np.ndarray, sr: int = SR) -> float:
    spec = np.abs(np.fft.rfft(x))
    f = np.fft.rfftfreq(x.size, 1 / sr)
    return float((spec * f).sum() / spec.sum())


def _onset_rate(x: np.ndarray, sr: int = SR, n: int = 1024, hop: int = 512) -> float:
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop] * np.hanning(n)
    mag = np.abs(np.fft.rfft(frames, axis=1))
    flux = np.maximum(np.diff(np.log1p(10 * mag), axis=0), 0).sum(1)
    thr = np.median(flux) + flux.std()
    peaks = (flux[1:-1] > flux[:-2]) & (flux[1:-1] >= flux[2:]) & (flux[1:-1] > thr)
    return float(peaks.sum() / (x.size / sr))


def test_genres_are_the_gtzan_ten():
    assert GENRES == ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")


def test_same_seed_same_samples_other_seed_differs():
    a = render_track("jazz", 7, seconds=2.0)
    b = render_track("jazz", 7, seconds=2.0)
    c = render_track("jazz", 8, seconds=2.0)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_same_seed_differs_between_genres():
    assert not np.array_equal(render_track("pop", 1, seconds=2.0), render_track("rock", 1, seconds=2.0))


@pytest.mark.parametrize("genre", GENRES)
def test_every_genre_renders_finite_normalised_audio(genre):
    x = render_track(genre, 3, seconds=2.5)
    assert x.shape == (int(2.5 * SR),)
    assert x.dtype == np.float32
    assert np.all(np.isfinite(x))
    peak = float(np.abs(x).max())
    assert 0.85 <= peak <= 1.0  # about -1 dBFS, no clipping
    assert float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) > 0.02  # not silent


def test_other_sample_rate_and_odd_length():
    x = render_track("disco", 0, seconds=1.3, sample_rate=16000)
    assert x.shape == (round(1.3 * 16000),)
    assert np.all(np.isfinite(x)) and np.abs(x).max() <= 1.0


def test_metal_is_brighter_and_busier_than_classical():
    metal = [render_track("metal", s, seconds=4.0).astype(np.float64) for s in range(3)]
    classical = [render_track("classical", s, seconds=4.0).astype(np.float64) for s in range(3)]
    assert np.mean([_centroid(x) for x in metal]) > 1.3 * np.mean([_centroid(x) for x in classical])
    assert np.mean([_onset_rate(x) for x in metal]) > np.mean([_onset_rate(x) for x in classical])


def test_unknown_genre_is_a_clear_value_error():
    with pytest.raises(ValueError, match=r"unknown genre 'polka'.*blues"):
        render_track("polka", 0, seconds=1.0)
    with pytest.raises(ValueError, match="unknown genre"):
        synthesize_corpus("unused", tracks_per_genre=1, seconds=1.0, genres=["blues", "polka"], progress=False)


def test_bad_arguments_are_value_errors_the_cli_prints_as_one_line(tmp_path):
    with pytest.raises(ValueError, match="seconds"):
        render_track("pop", 0, seconds=0)
    with pytest.raises(ValueError, match="tracks_per_genre"):
        synthesize_corpus(tmp_path, tracks_per_genre=-1, progress=False)
    with pytest.raises(CorpusError, match="8000 Hz"):
        synthesize_corpus(tmp_path, tracks_per_genre=1, sample_rate=2000, progress=False)
    assert not (tmp_path / "genres").exists()


def test_corpus_layout_and_wav_format(tmp_path):
    paths = synthesize_corpus(tmp_path / "corpus", tracks_per_genre=2, seconds=1.5, seed=4,
                              genres=("blues", "metal"), progress=False)
    root = tmp_path / "corpus" / "genres"
    assert paths == [root / "blues" / "blues.00000.wav", root / "blues" / "blues.00001.wav",
                     root / "metal" / "metal.00000.wav", root / "metal" / "metal.00001.wav"]
    assert sorted(p.name for p in (root / "blues").iterdir()) == ["blues.00000.wav", "blues.00001.wav"]
    for p in paths:
        info = sf.info(str(p))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (SR, 1, "PCM_16", "WAV")
        assert info.frames == int(1.5 * SR)
    # the file holds render_track's samples for the derived seed, quantised to 16 bit
    data, _ = sf.read(str(paths[3]), dtype="float32")
    expected = render_track("metal", track_seed(4, "metal", 1), seconds=1.5)
    assert np.abs(data - expected).max() < 1e-4
    assert not np.array_equal(sf.read(str(paths[0]))[0], sf.read(str(paths[1]))[0])


def test_corpus_resumes_without_rewriting(tmp_path):
    kw = dict(tracks_per_genre=2, seconds=1.0, seed=1, genres=("reggae",), progress=False)
    first = synthesize_corpus(tmp_path, **kw)
    old = 1_000_000_000
    os.utime(first[0], (old, old))
    first[1].unlink()  # an interrupted run: one file missing
    second = synthesize_corpus(tmp_path, **kw)
    assert second == first
    assert first[0].stat().st_mtime == old  # kept, not rewritten
    assert first[1].exists()
    assert not [p for p in (tmp_path / "genres" / "reggae").iterdir() if p.name.startswith(".")]


def test_corpus_rewrites_a_truncated_file(tmp_path):
    kw = dict(tracks_per_genre=1, seconds=1.0, seed=2, genres=("pop",), progress=False)
    (path,) = synthesize_corpus(tmp_path, **kw)
    good = path.read_bytes()
    path.write_bytes(good[:1000])
    synthesize_corpus(tmp_path, **kw)
    assert path.read_bytes() == good


def test_track_seed_depends_on_everything():
    seeds = {track_seed(0, "pop", 0), track_seed(1, "pop", 0), track_seed(0, "rock", 0), track_seed(0, "pop", 1)}
    assert len(seeds) == 4
    assert track_seed(-1, "pop", 0) == track_seed(-1, "pop", 0)


def test_pluck_has_the_requested_pitch():
    inst = Instrument("pluck", brightness=0.5, pick=0.2, decay=2.0, release=0.1)
    y = render_note(inst, 57, 1.0, 1.0, SR, np.random.default_rng(0))  # A3 = 220 Hz
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size), 1 << 17))
    f = np.fft.rfftfreq(1 << 17, 1 / SR)
    band = (f > 100) & (f < 400)
    assert abs(f[band][np.argmax(spec[band])] - 220.0) < 2.0


def test_fast_len():
    for n in (1, 7, 1000, 661500, 700001):
        m = fast_len(n)
        assert m >= n
        while m % 2 == 0:
            m //= 2
        while m % 3 == 0:
            m //= 3
        while m % 5 == 0:
            m //= 5
        assert m == 1
