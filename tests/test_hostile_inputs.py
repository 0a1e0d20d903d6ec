"""Hostile headers and special files (issue 17, items 4 and 6): a WAV claiming 1 Hz, a FIFO."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
import torch
from latent_fakes import make_corpus, register_fake, save_fake_checkpoint, scan

from musiclatent.corpus.audio import audio_info, read_audio, resample
from musiclatent.corpus.errors import AudioReadError


@pytest.mark.parametrize("rate", [1, 999, 768_001, 2_000_000])
def test_a_header_with_an_absurd_rate_is_refused_before_decoding(tmp_path, rate):
    path = tmp_path / f"r{rate}.wav"
    sf.write(path, np.zeros(64, np.float32), rate, subtype="PCM_16")
    for read in (lambda: read_audio(path, 22050), lambda: audio_info(path)):
        with pytest.raises(AudioReadError, match=f"sample rate of {rate} Hz"):
            read()


def test_resample_refuses_rates_out_of_bounds():
    with pytest.raises(ValueError, match="1000-768000"):
        resample(np.zeros(10, np.float32), 1, 22050)


def test_a_fifo_is_not_a_regular_file_not_an_empty_one(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(AudioReadError, match="not a regular file") as err:
        read_audio(fifo, 22050)  # never blocks: refused before opening
    assert "empty" not in str(err.value)


def test_encode_reports_a_1_hz_file_and_encodes_the_rest(tmp_path, fresh_plugins):
    from musiclatent.latents.encode import encode_corpus
    from musiclatent.latents.table import LatentTable

    torch.set_num_threads(1)
    register_fake(fresh_plugins)
    root = make_corpus(tmp_path / "corpus", genres=("blues", "jazz"))
    manifest = scan(root)
    bad = root / "genres" / "jazz" / "jazz.00000.wav"
    sf.write(bad, np.zeros(40, np.float32), 1, subtype="PCM_16")  # changed after the scan
    ckpt = save_fake_checkpoint(tmp_path / "best.safetensors")
    out = encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp_path / "t.parquet", device="cpu",
                        progress=False, log=lambda m: None)
    table = LatentTable.open(out)
    assert table.track_ids() == ["genres/blues/blues.00000"]
    assert [p["path"] for p in table.problems] == ["genres/jazz/jazz.00000.wav"]
    assert "1 Hz" in table.problems[0]["reason"]
