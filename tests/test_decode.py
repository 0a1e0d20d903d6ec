"""Decoding latents back to audio: whole tracks, latent arrays, tampered checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from latent_fakes import RATE, FakeAE, make_corpus, register_fake, save_fake_checkpoint, scan

from musiclatent.checkpoint import CheckpointError
from musiclatent.hookspecs import hookimpl
from musiclatent.latents.decode import (
    decode_latent,
    decode_track,
    load_latent_file,
    load_table_model,
)
from musiclatent.latents.encode import encode_corpus
from musiclatent.latents.table import LatentTable, LatentTableError
from musiclatent.registry import ArchitectureSpec


@pytest.fixture
def table(tmp_path, fresh_plugins):
    torch.set_num_threads(1)
    register_fake(fresh_plugins)
    root = make_corpus(tmp_path / "corpus", genres=("blues", "jazz"), seconds=3.5)
    manifest = scan(root)
    ckpt = save_fake_checkpoint(tmp_path / "run" / "best.safetensors", segment_seconds=1.0)
    out = encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp_path / "t.parquet", device="cpu",
                        progress=False, segment_seconds=2.0)
    return LatentTable.open(out), root


def test_decode_track_has_the_encoded_length(table):
    t, root = table
    tid = t.track_ids()[0]
    wave, sr = decode_track(t, tid)
    assert sr == RATE
    rows = t.segments(filters=[("track_id", "=", tid)])
    # 2 s segments of a 3.5 s track: one full segment and a 1.5 s tail padded to 2 s
    assert len(rows) == 2 and sorted(rows["duration_s"].round(3)) == [1.5, 2.0]
    assert wave.shape == (int(3.5 * RATE),) and wave.dtype == np.float32
    # the decoded segments are the model's reconstruction of each segment
    model = load_table_model(t)
    first = decode_latent(t.track_latents(tid)[0], model, t.latent_shape, length=int(2.0 * RATE))
    np.testing.assert_allclose(wave[: len(first)], first, rtol=1e-5, atol=1e-6)


def test_decode_refuses_a_tampered_checkpoint(table):
    t, _ = table
    ckpt = t.metadata["checkpoint"]
    save_fake_checkpoint(type(t.path)(ckpt), seed=1)  # same path, other weights
    with pytest.raises(CheckpointError, match="sha256"):
        decode_track(t, t.track_ids()[0])


def test_decode_latent_accepts_every_layout(table, tmp_path):
    t, _ = table
    model = load_table_model(t)
    lat = t.track_latents(t.track_ids()[0])  # [S, C, T']
    c, tt = t.latent_shape
    a = decode_latent(lat, model)
    b = decode_latent(lat.reshape(len(lat), -1), model, (c, tt))
    d = decode_latent(lat[0].reshape(-1), model, (c, tt))
    assert a.shape == (len(lat) * tt * 8,)
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(d, a[: tt * 8])
    with pytest.raises(LatentTableError):
        decode_latent(lat.reshape(len(lat), -1)[:, :-1], model, (c, tt))
    np.save(tmp_path / "z.npy", lat[0])
    np.testing.assert_array_equal(load_latent_file(tmp_path / "z.npy"), lat[0])
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(LatentTableError, match="npy"):
        load_latent_file(tmp_path / "obj.npy")


def test_cli_decode_track_and_latent(table, tmp_path):
    from click.testing import CliRunner

    from musiclatent.cli import cli

    t, _ = table
    tid = t.track_ids()[1]
    runner = CliRunner()
    out = tmp_path / "track.wav"
    res = runner.invoke(cli, ["decode", str(t.path), "--track", tid, "--out", str(out)])
    assert res.exit_code == 0, res.output
    data, sr = sf.read(out)
    assert sr == RATE and len(data) == len(decode_track(t, tid)[0])
    # derived from the track id: stays inside --out-dir even for a hostile id
    res = runner.invoke(cli, ["decode", str(t.path), "--track", tid, "--out-dir", str(tmp_path / "dec")])
    assert res.exit_code == 0, res.output
    written = list((tmp_path / "dec").glob("*.wav"))
    assert len(written) == 1 and "/" not in written[0].name
    np.save(tmp_path / "z.npy", t.track_latents(tid))
    res = runner.invoke(cli, ["decode", str(t.path), "--latent", str(tmp_path / "z.npy"), "--out", str(tmp_path / "z.wav")])
    assert res.exit_code == 0, res.output
    assert sf.info(str(tmp_path / "z.wav")).frames > 0
    res = runner.invoke(cli, ["decode", str(t.path), "--track", "no/such/track", "--out", str(out)])
    assert res.exit_code == 1 and "no track" in res.output


class ContextAE(FakeAE):
    """FakeAE whose decoder reaches one frame into each neighbour (kernel 24, stride 8), set up like
    a trained codec: frame means in, Hann-windowed overlap-add out (smooth, sums to one). Decoding a
    segment alone misses its neighbours' share at both edges: the seam a whole-track decode avoids."""

    def __init__(self, width: int = 2):
        super().__init__(width)
        self.dec = torch.nn.ConvTranspose1d(width, 1, kernel_size=24, stride=8, padding=8, bias=False)
        with torch.no_grad():
            self.enc.weight.zero_()
            self.enc.bias.zero_()
            self.enc.weight[0, 0] = 1.0 / 8
            self.dec.weight.zero_()
            self.dec.weight[0, 0] = torch.hann_window(24, periodic=True) / 1.5


class ContextPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(ArchitectureSpec(name="ctxae", description="test autoencoder with decoder context",
                                  factory=ContextAE, defaults={"width": 2}, sample_rate=RATE))


def test_whole_track_decode_is_seamless_and_per_segment_decode_is_not(tmp_path, fresh_plugins):
    from musiclatent.checkpoint import save_checkpoint
    from musiclatent.metrics.audio import boundary_energy_ratio
    from musiclatent.plugins import get_registry

    torch.set_num_threads(1)
    fresh_plugins.register_plugin(ContextPlugin(), name="ctx-latents")
    # smooth music (three low tones) that this codec reconstructs well, so a seam stands out
    time = np.arange(6 * RATE) / RATE
    tones = sum(0.2 * np.sin(2 * np.pi * f * time + f) for f in (55.0, 82.5, 123.75)).astype(np.float32)
    root = tmp_path / "corpus"
    (root / "jazz").mkdir(parents=True)
    sf.write(root / "jazz" / "tones.wav", tones, RATE, subtype="FLOAT")
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "ctx.safetensors", get_registry().architecture("ctxae").build(),
                           model_name="ctxae")
    t = LatentTable.open(encode_corpus(checkpoint=ckpt, manifest=scan(root), out=tmp_path / "t.parquet",
                                       device="cpu", progress=False, segment_seconds=0.5))
    tid = t.track_ids()[0]
    ref = torch.from_numpy(tones)
    bounds = np.arange(1, 12) * RATE // 2  # every 0.5 s
    ratios = {}
    for seamless in (True, False):
        wave, _ = decode_track(t, tid, seamless=seamless)
        ratios[seamless] = float(boundary_energy_ratio(torch.from_numpy(wave), bounds, RATE, ref=ref))
    assert 0.5 < ratios[True] < 2.0, ratios
    assert ratios[False] > 3.0, ratios
    # the seamless decode is the model's one-pass decode of the whole track, window edges included
    model = load_table_model(t)
    with torch.inference_mode():
        whole = model.decode(model.encode(ref[None, None]), length=len(ref))[0, 0].numpy()
    np.testing.assert_allclose(decode_track(t, tid, chunk_seconds=0.3, overlap_seconds=0.1)[0], whole,
                               rtol=1e-4, atol=1e-5)


def test_decode_frames_overlap_add_matches_one_pass():
    from musiclatent.latents.decode import decode_frames

    torch.manual_seed(1)
    model = ContextAE().eval()
    z = np.random.default_rng(0).standard_normal((2, 517)).astype(np.float32)
    with torch.inference_mode():
        one = model.decode(torch.from_numpy(z[None])).numpy().reshape(-1)
    for chunk, overlap in ((40, 8), (64, 4), (600, 8)):
        np.testing.assert_allclose(decode_frames(z, model, chunk, overlap), one, rtol=1e-5, atol=1e-6)
    with pytest.raises(LatentTableError):
        decode_frames(np.full((2, 5), np.nan, np.float32), model, 40, 8)
