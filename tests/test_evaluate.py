"""Evaluation beside the same-size resampling codec and the previous checkpoint; CLI commands."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from latent_fakes import FAKE, RATE, make_corpus, register_fake, save_fake_checkpoint, scan

from musiclatent.cli import cli
from musiclatent.latents.evaluate import (
    FLAG,
    METRICS,
    evaluate,
    resample_codec,
    summarize,
    write_evaluation,
)


@pytest.fixture
def setup(tmp_path, fresh_plugins):
    torch.set_num_threads(1)
    register_fake(fresh_plugins)
    root = make_corpus(tmp_path / "corpus", genres=("blues", "jazz", "rock"), seconds=2.0)
    manifest = scan(root)
    run = tmp_path / "ws" / "runs" / FAKE
    best = save_fake_checkpoint(run / "best.safetensors", seed=0)
    save_fake_checkpoint(run / "last.safetensors", seed=1)
    return root, manifest, best


def test_evaluate_columns_and_references(setup):
    _, manifest, best = setup
    df = evaluate(best, manifest, split=None, device="cpu", progress=False)
    assert list(df.columns) == ["system", "name", "track_id", "label", "seconds", *METRICS]
    assert set(df["system"]) == {"model", "previous", "resample"}
    assert (df.groupby("system").size() == len(manifest.tracks)).all()
    # the fake keeps 1/4 of the values: the reference resamples 8000 Hz down to 2000 Hz
    assert df.attrs["encoding_scale"] == pytest.approx(4.0) and df.attrs["resample_rate"] == 2000
    assert df.loc[df["system"] == "resample", "name"].iloc[0] == "resample 8000->2000->8000 Hz"
    summary, verdict = summarize(df)
    assert {"all", "blues"} <= set(summary["label"])
    # an untrained random conv cannot beat a low-pass resampling codec
    assert verdict["beats_resampling"] is False and verdict["flag"] == FLAG


def test_resample_codec_keeps_low_frequencies():
    t = torch.arange(RATE, dtype=torch.float32) / RATE
    low = torch.sin(2 * torch.pi * 200 * t)[None]
    high = torch.sin(2 * torch.pi * 3000 * t)[None]
    out_low, rate = resample_codec(low, RATE, 4.0)
    out_high, _ = resample_codec(high, RATE, 4.0)
    assert rate == 2000 and out_low.shape == low.shape
    assert float((out_low - low)[:, 400:-400].abs().max()) < 0.05
    assert float(out_high.abs()[:, 400:-400].max()) < 0.05


def test_write_evaluation_outputs(setup, tmp_path):
    _, manifest, best = setup
    df = evaluate(best, manifest, split=None, device="cpu", progress=False, max_tracks=1)
    paths = write_evaluation(df, tmp_path / "eval", chart_formats=("html",))
    assert paths["chart_html"].read_text().lower().count("<html") >= 1
    doc = json.loads(paths["json"].read_text())
    assert doc["flag"] == FLAG and doc["resample_rate"] == 2000
    assert paths["summary_csv"].read_text().startswith("system,name,label,tracks,si_sdr")


def test_cli_encode_info_evaluate(setup, tmp_path, monkeypatch):
    root, _, _ = setup
    monkeypatch.setenv("MUSICLATENT_WORKSPACE", str(tmp_path / "ws"))
    runner = CliRunner()
    res = runner.invoke(cli, ["encode", "--model", FAKE, "--data", str(root), "--device", "cpu", "-q",
                              "--batch-size", "4"])
    assert res.exit_code == 0, res.output
    table = tmp_path / "ws" / "latents" / f"{FAKE}.parquet"
    assert table.is_file() and "3 tracks" in res.output
    res = runner.invoke(cli, ["latents", "info", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["tracks"] == 3 and doc["latent_shape"] == [2, RATE // 8] and doc["metadata"]["model"] == FAKE
    res = runner.invoke(cli, ["latents", "info", str(table)])
    assert res.exit_code == 0 and "blues 1" in res.output
    res = runner.invoke(cli, ["latents", "validate"])
    assert res.exit_code == 0 and "ok" in res.output
    out = tmp_path / "ev"
    res = runner.invoke(cli, ["evaluate", "--model", FAKE, "--split", "all", "--device", "cpu", "-q",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "not better than resampling at equal size" in res.output
    assert (out / "summary.csv").is_file() and (out / "evaluation.png").is_file()
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 nonsense")
    res = runner.invoke(cli, ["latents", "info", str(bad)])
    assert res.exit_code == 1 and "not a readable Parquet" in res.output and "Traceback" not in res.output


def test_summarize_rule_needs_si_sdr_and_a_spectral_win():
    import pandas as pd

    def frame(model, resample):
        rows = [{"system": "model", "name": "m", "track_id": "a", "label": "x", "seconds": 1.0, **model},
                {"system": "resample", "name": "r", "track_id": "a", "label": "x", "seconds": 1.0, **resample}]
        return pd.DataFrame(rows)

    good = frame({"si_sdr": 12.0, "mrstft": 1.0, "mel": 2.0}, {"si_sdr": 8.0, "mrstft": 2.0, "mel": 1.0})
    assert summarize(good)[1] == {"beats_resampling": True, "flag": None,
                                  "wins": {"si_sdr": True, "mrstft": True, "mel": False}}
    mel_only = frame({"si_sdr": 1.0, "mrstft": 3.0, "mel": 0.5}, {"si_sdr": 8.0, "mrstft": 2.0, "mel": 1.0})
    assert summarize(mel_only)[1]["flag"] == FLAG


def test_one_resampling_codec_for_evaluate_and_the_quality_benchmark():
    from musiclatent.metrics import codecs
    from musiclatent.quality import references

    assert references.resample_codec is codecs.resample_codec
    torch.manual_seed(0)
    wave = torch.randn(2, 1, 22050)
    est, rate = resample_codec(wave, 22050, 12.0)           # evaluate's (deprecated) spelling
    assert torch.equal(est, codecs.resample_codec(wave, 12))
    assert rate == 1837.5 and codecs.resample_ratio(12) == (12, 1)
    assert codecs.resample_ratio(2.5) == (5, 2) and codecs.resample_rate(8000, 2.5) == 3200
    assert codecs.resample_codec(wave, 2.5).shape == wave.shape
    with pytest.raises(ValueError, match="positive"):
        codecs.resample_ratio(0)
