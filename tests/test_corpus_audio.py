"""Reading, resampling, downmixing and writing audio."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from corpus_helpers import sine, write

from musiclatent.corpus.audio import audio_info, read_audio, resampled_length, write_audio
from musiclatent.corpus.errors import AudioReadError

torch.set_num_threads(1)


def _peak_hz(wave: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.argmax(spectrum) * sr / len(wave))


@pytest.mark.parametrize("sr", [8000, 11025, 16000, 22050, 32000, 44100, 44101, 48000, 88200, 96000])
def test_any_rate_is_resampled_to_target(tmp_path, sr):
    path = write(tmp_path / f"s{sr}.wav", sine(1.0, sr, freq=440.0), sr)
    wave = read_audio(path, 22050)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert len(wave) == resampled_length(sr, sr, 22050)
    assert abs(len(wave) / 22050 - 1.0) < 1e-3  # the duration is kept
    assert abs(_peak_hz(wave, 22050) - 440.0) < 3.0  # and so is the pitch
    assert audio_info(path).sample_rate == sr


@pytest.mark.parametrize("channels", [2, 6])
def test_multichannel_is_downmixed_by_mean(tmp_path, channels):
    data = np.zeros((2205, channels), dtype=np.float32)
    data[:, 0] = 0.6
    path = write(tmp_path / "multi.wav", data, 22050, subtype="FLOAT")
    assert audio_info(path).channels == channels
    wave = read_audio(path, 22050)
    assert wave.shape == (2205,)
    np.testing.assert_allclose(wave, 0.6 / channels, rtol=1e-6)


def test_other_containers(tmp_path):
    import soundfile as sf

    data = sine(0.5, 22050)
    assert "MP3" in sf.available_formats()  # libsndfile >= 1.1 reads MP3
    for ext, fmt, slack in (("flac", "FLAC", 1), ("ogg", "OGG", 1), ("mp3", "MP3", 2304),
                            ("aiff", "AIFF", 0), ("au", "AU", 0)):
        path = tmp_path / f"x.{ext}"
        sf.write(path, data, 22050, format=fmt, subtype="PCM_16" if fmt == "AU" else None)
        wave = read_audio(path)
        assert abs(len(wave) - len(data)) <= slack and abs(_peak_hz(wave, 22050) - 440) < 5, ext


def test_non_utf8_single_file_reads(tmp_path):
    path = os.path.join(os.fsencode(tmp_path), b"caf\xe9.wav")
    write(path, sine(0.2, 22050), 22050)
    assert read_audio(path).shape == (4410,)
    assert read_audio(os.fsdecode(path)).shape == (4410,)


def test_write_audio_atomic_roundtrip(tmp_path):
    wave = sine(0.1, 22050, amp=1.5)  # clipped to [-1, 1] in 16-bit
    out = write_audio(tmp_path / "o" / "r.wav", wave, 22050)
    back = read_audio(out)
    assert back.shape == wave.shape and back.max() <= 1.0 and back.max() > 0.99
    write_audio(tmp_path / "f.wav", wave, 22050, subtype="FLOAT")
    np.testing.assert_allclose(read_audio(tmp_path / "f.wav"), wave)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_nan_is_reported_not_fixed(tmp_path):
    data = sine(0.1, 22050)
    data[5] = np.nan
    data[7] = np.inf
    path = write(tmp_path / "nan.wav", data, 22050, subtype="FLOAT")
    with pytest.raises(AudioReadError, match="2 of 2205 samples are NaN or infinite") as info:
        read_audio(path)
    assert info.value.path == path and "nan.wav" in str(info.value)
