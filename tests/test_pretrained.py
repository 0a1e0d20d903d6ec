"""Pretrained weights shipped in musiclatent/pretrained/: the files themselves, and the mechanism
(encode/evaluate --pretrained, decode of such a table, train --from-pretrained) with a fake model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from _tiny_arch import TinyPlugin
from latent_fakes import FAKE, make_corpus, register_fake, save_fake_checkpoint

from musiclatent import checkpoint as ckmod
from musiclatent.fileio import sha256_file

torch.set_num_threads(1)
SHIPPED = ("alt5", "mel12", "mel48", "hybrid12", "sparse12")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_load_rebuild_and_encode(name):
    from safetensors import safe_open

    from musiclatent.checkpoint import load_checkpoint, pretrained_checkpoint

    path = pretrained_checkpoint(name)
    assert path.stat().st_size < 5_000_000
    with safe_open(str(path), framework="pt") as fh:  # plain tensors, nothing to unpickle
        assert all(fh.get_tensor(k).dtype == torch.float32 for k in fh.keys())
    model, meta = load_checkpoint(path, expected_sha256=sha256_file(path))
    assert meta["arch"] == name and meta["model_name"] == name
    n = model.sample_rate  # one second of a chord
    t = torch.arange(n) / n
    wave = (0.2 * torch.sin(2 * np.pi * 220 * t) + 0.1 * torch.sin(2 * np.pi * 330 * t))[None, None]
    with torch.inference_mode():
        z = model.encode(wave)
        out = model.decode(z, length=n)
    assert tuple(z.shape[1:]) == model.latent_shape(n) and torch.isfinite(z).all()
    assert out.shape == (1, 1, n) and torch.isfinite(out).all()


def test_readme_names_each_shipped_file_with_its_sha256():
    shipped = ckmod.pretrained_models()
    assert set(SHIPPED) <= set(shipped)
    readme = (ckmod.PRETRAINED_DIR / "README.md").read_text()
    for name, path in shipped.items():
        assert sha256_file(path) in readme, name
    assert "python -m benchmarks.devcorpus" in readme and "musiclatent" in readme


def test_shipped_sparse12_keeps_partials_anywhere_and_fills_the_rest_quietly():
    """The shipped sparse12 gives back the waveform of a chord with partials up to 3.5 kHz (far above
    hybrid12's 689 Hz crossover) and its trained fill gains stay between silence and full level."""
    from musiclatent.checkpoint import load_checkpoint, pretrained_checkpoint
    from musiclatent.metrics.audio import si_sdr

    model, _ = load_checkpoint(pretrained_checkpoint("sparse12"))
    gains = model.log_fill_gain.detach().exp()
    assert bool(((gains > 0.1) & (gains < 1.0)).all())
    sr = model.sample_rate
    t = torch.arange(2 * sr) / sr
    wave = sum(0.2 / k * torch.sin(2 * np.pi * 440 * k * t + k) for k in range(1, 9))[None, None]
    with torch.inference_mode():
        out = model.decode(model.encode(wave), length=wave.shape[-1])
        hybrid, _ = load_checkpoint(pretrained_checkpoint("hybrid12"))
        banded = hybrid.decode(hybrid.encode(wave), length=wave.shape[-1])
    assert float(si_sdr(wave, out)) > 12.0  # 8 partials between bins need more than 13 coefficients
    assert float(si_sdr(wave, out)) > float(si_sdr(wave, banded)) + 5.0  # hybrid12 keeps 440 Hz only


def test_shipped_hybrid12_gives_back_a_bass_line_and_the_level_above_it():
    """The shipped 1/12 successor of mel12 keeps the waveform (not only the spectrum) of the low band
    and puts the band above the crossover back within a few dB of the reference's level."""
    from musiclatent.checkpoint import load_checkpoint, pretrained_checkpoint
    from musiclatent.metrics.audio import si_sdr

    model, _ = load_checkpoint(pretrained_checkpoint("hybrid12"))
    sr = model.sample_rate
    t = torch.arange(2 * sr) / sr
    bass = 0.3 * torch.sin(2 * np.pi * 110 * t) + 0.2 * torch.sin(2 * np.pi * 165 * t + 1.0)
    hiss = torch.randn(2 * sr, generator=torch.Generator().manual_seed(0))
    hiss = torch.fft.irfft(torch.fft.rfft(hiss) * (torch.fft.rfftfreq(2 * sr, 1 / sr) > 3000), n=2 * sr)
    wave = (bass + 0.03 * hiss / hiss.std())[None, None]
    with torch.inference_mode():
        out = model.decode(model.encode(wave), length=wave.shape[-1])
    low = torch.fft.rfftfreq(2 * sr, 1 / sr) < 500
    keep = lambda w: torch.fft.irfft(torch.fft.rfft(w.flatten()) * low, n=2 * sr)  # noqa: E731
    assert float(si_sdr(keep(wave), keep(out))) > 20.0  # the bass's waveform, phase and all
    high = torch.fft.rfftfreq(2 * sr, 1 / sr) > 3500
    level = lambda w: torch.fft.rfft(w.flatten()).abs().pow(2)[high].sum()  # noqa: E731
    assert abs(10 * np.log10(float(level(out) / level(wave)))) < 6.0


@pytest.fixture
def fake_pretrained(tmp_path, fresh_plugins, monkeypatch):
    register_fake(fresh_plugins)
    folder = tmp_path / "pretrained"
    save_fake_checkpoint(folder / f"{FAKE}.safetensors", seed=3)
    monkeypatch.setattr(ckmod, "PRETRAINED_DIR", folder)
    return folder


def _cli(*args):
    from click.testing import CliRunner

    from musiclatent.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def test_encode_pretrained_records_the_shipped_checksum_and_decodes_after_a_move(tmp_path, fake_pretrained,
                                                                                 monkeypatch):
    from musiclatent.latents.decode import decode_track
    from musiclatent.latents.table import LatentTable

    assert list(ckmod.pretrained_models()) == [FAKE]
    corpus = make_corpus(tmp_path / "corpus", genres=("jazz",), seconds=2.0)
    out = tmp_path / "t.parquet"
    res = _cli("-w", tmp_path / "ws", "encode", "--model", FAKE, "--pretrained", "--data", corpus, "--out", out, "-q")
    assert res.exit_code == 0, res.output
    table = LatentTable.open(out)
    shipped = fake_pretrained / f"{FAKE}.safetensors"
    assert table.metadata["checkpoint_sha256"] == sha256_file(shipped)
    assert table.metadata["checkpoint"] == str(shipped.resolve())
    wave, _ = decode_track(table, table.track_ids()[0])
    # an upgrade moved the package: the table still finds the shipped weights by their sha256
    moved = tmp_path / "site" / "pretrained"
    shutil.move(str(fake_pretrained), str(moved))
    monkeypatch.setattr(ckmod, "PRETRAINED_DIR", moved)
    np.testing.assert_array_equal(decode_track(table, table.track_ids()[0])[0], wave)
    res = _cli("-w", tmp_path / "ws", "encode", "--model", "nosuch", "--pretrained", "--data", corpus)
    assert res.exit_code == 1 and "no pretrained weights for 'nosuch'" in res.output
    res = _cli("-w", tmp_path / "ws", "encode", "--model", FAKE, "--pretrained", "--checkpoint", out)
    assert res.exit_code == 2 and "--pretrained" in res.output


def test_evaluate_pretrained_writes_into_the_workspace_not_the_package(tmp_path, fake_pretrained):
    # the shipped weights lie inside the installed package, which may be read-only (site-packages)
    corpus = make_corpus(tmp_path / "corpus", genres=("jazz",), seconds=2.0)
    before = sorted(p.name for p in fake_pretrained.iterdir())
    res = _cli("-w", tmp_path / "ws", "evaluate", "--model", FAKE, "--pretrained", "--data", corpus, "--split", "all",
               "-q")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in fake_pretrained.iterdir()) == before
    written = tmp_path / "ws" / "runs" / FAKE / "pretrained-eval"
    assert (written / "summary.csv").is_file() or any(written.glob("*.csv")), list(written.iterdir())


def test_train_from_pretrained_starts_from_the_shipped_weights(tmp_path, tiny_corpus, fresh_plugins, monkeypatch):
    from musiclatent.checkpoint import load_checkpoint, save_checkpoint
    from musiclatent.plugins import get_registry
    from musiclatent.training.trainer import TrainingError, train

    fresh_plugins.register_plugin(TinyPlugin(), name="tiny-test")
    torch.manual_seed(7)
    source = save_checkpoint(tmp_path / "pretrained" / "tiny.safetensors", get_registry().architecture("tiny").build(),
                             model_name="tiny")
    monkeypatch.setattr(ckmod, "PRETRAINED_DIR", source.parent)
    start = load_checkpoint(source)[0].state_dict()
    fast = {"segment_seconds": 1.0, "max_train_segments": 4, "progress": False, "epochs": 1, "lr": 1e-12,
            "charts": False}
    res = _cli("-w", tmp_path / "ws", "train", "--model", "tiny", "--from-pretrained", "--data", tiny_corpus,
               "--epochs", 1, "--lr", 1e-12, "--max-segments", 4, "--segment-seconds", 1.0,
               "--out", tmp_path / "tuned")
    assert res.exit_code == 0, res.output
    tuned = load_checkpoint(tmp_path / "tuned" / "best.safetensors")[0].state_dict()
    assert all(torch.allclose(tuned[k], start[k], atol=1e-6) for k in start)  # lr 1e-12: still the source
    run = json.loads((tmp_path / "tuned" / "run.json").read_text())
    assert run["initialised_from"]["sha256"] == sha256_file(source)
    scratch = train("tiny", workspace=tmp_path / "ws", data=tiny_corpus, out_dir=tmp_path / "scratch", **fast)
    fresh = load_checkpoint(scratch.best_checkpoint)[0].state_dict()
    assert not all(torch.allclose(fresh[k], start[k], atol=1e-6) for k in start)  # the default starts afresh
    with pytest.raises(TrainingError, match="config"):
        train("tiny", workspace=tmp_path / "ws", data=tiny_corpus, out_dir=tmp_path / "other", init_from=source,
              config_overrides={"channels": 3}, **fast)


def test_models_lists_which_have_pretrained_weights():
    res = _cli("models", "--json", "--seconds", "1")
    assert res.exit_code == 0, res.output
    flags = {row["name"]: row["pretrained"] for row in json.loads(res.output)}
    assert all(flags[name] for name in SHIPPED) and not flags["wave192"]
