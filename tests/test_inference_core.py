"""The encoding core (``musiclatent.latents.inference``): one batched loop that the local engine,
``evaluate`` and ``decode`` all go through, and its checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from latent_fakes import RATE, make_corpus, register_fake, save_fake_checkpoint, scan

from musiclatent.latents import inference
from musiclatent.latents.errors import LatentTableError


def test_batched_keeps_order_over_uneven_batches_and_empty_input():
    x = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
    calls: list[int] = []

    def double(batch):
        calls.append(len(batch))
        return batch * 2

    np.testing.assert_array_equal(inference.batched(double, x, 3, "cpu"), x * 2)
    assert calls == [3, 3, 1]
    assert inference.batched(double, x[:0], 3, "cpu").shape == (0,)


def test_encode_segments_refuses_a_model_of_another_latent_shape(fresh_plugins, tmp_path):
    from musiclatent.checkpoint import load_checkpoint

    register_fake(fresh_plugins)
    model, _ = load_checkpoint(save_fake_checkpoint(tmp_path / "m.safetensors"))
    segments = np.zeros((3, RATE), np.float32)
    assert inference.encode_segments(model, segments, 2, "cpu", (2, RATE // 8)).shape == (3, 2, RATE // 8)
    with pytest.raises(LatentTableError, match=r"m\.safetensors: model gave latents \(2, 1000\), expected \(4, 10\)"):
        inference.encode_segments(model, segments, 2, "cpu", (4, 10), where=tmp_path / "m.safetensors")


def test_encode_evaluate_and_decode_all_run_the_one_loop(fresh_plugins, tmp_path, monkeypatch):
    from musiclatent.latents.decode import decode_track
    from musiclatent.latents.encode import encode_corpus
    from musiclatent.latents.evaluate import evaluate

    torch.set_num_threads(1)
    register_fake(fresh_plugins)
    manifest = scan(make_corpus(tmp_path / "corpus"))
    ckpt = save_fake_checkpoint(tmp_path / "best.safetensors")
    real, seen = inference.batched, []

    def counted(fn, inputs, batch_size, device):
        seen.append(len(inputs))
        return real(fn, inputs, batch_size, device)

    monkeypatch.setattr(inference, "batched", counted)
    table = encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp_path / "t.parquet", device="cpu",
                          batch_size=4, progress=False)
    encoded, seen[:] = list(seen), []
    assert sum(encoded) == 6  # 3 tracks x 2 segments, every one through the loop
    evaluate(ckpt, manifest, None, device="cpu", progress=False)
    assert sum(seen) == 6  # each track's segments reconstructed through it
    seen.clear()
    wave, sr = decode_track(table, manifest.tracks["track_id"].iloc[0], seamless=False)
    assert seen == [2] and sr == RATE and len(wave) == 2 * RATE
