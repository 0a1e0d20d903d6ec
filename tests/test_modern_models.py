"""The modern architectures (wave12/48/192, mel12/48/192, hybrid12), their layers, recipe and the quality benchmark."""

from __future__ import annotations

import math

import pytest
import torch  # a hard dependency: a broken torch must fail, not skip

torch.set_num_threads(1)

from musiclatent.plugins import get_registry  # noqa: E402

SR = 22050
MODERN = {"wave12": 12, "wave48": 48, "wave192": 192, "mel12": 12, "mel48": 48, "mel192": 192, "hybrid12": 12}
LENGTH = 768 * 29  # a multiple of every modern hop (48, 192, 384, 768), about 1 s


def test_all_modern_models_are_registered():
    archs = get_registry().architectures
    assert set(MODERN) <= set(archs)
    for name in MODERN:
        assert "modern" in archs[name].tags


@pytest.mark.parametrize("name", sorted(MODERN))
def test_latent_values_per_second_are_exact(name):
    model = get_registry().architecture(name).build().eval()
    x = torch.randn(1, 1, LENGTH) * 0.1
    with torch.no_grad():
        z = model.encode(x)
        y = model.decode(z, length=LENGTH)
    assert tuple(z.shape[1:]) == model.latent_shape(LENGTH)
    assert z.numel() / (LENGTH / SR) == pytest.approx(SR / MODERN[name], rel=1e-12)
    assert model.encoding_scale(LENGTH) == pytest.approx(MODERN[name])
    assert y.shape == (1, 1, LENGTH) and torch.isfinite(y).all()


@pytest.mark.parametrize("name", ["wave192", "mel192", "hybrid12"])
def test_any_length_round_trips_to_the_same_length(name):
    model = get_registry().architecture(name).build().eval()
    for length in (1, 1001, 4097):
        with torch.no_grad():
            y = model(torch.randn(2, 1, length) * 0.1)
        assert y.shape == (2, 1, length)


def test_layers_keep_lengths_and_the_stft_pair_is_exact():
    from musiclatent.nn.modern_layers import DownBlock, UpBlock, frame_stft, overlap_add

    for stride in range(1, 7):
        x = torch.randn(1, 4, stride * 9)
        y = DownBlock(4, 6, stride)(x)
        assert y.shape == (1, 6, 9)
        assert UpBlock(6, 4, stride)(y).shape == (1, 4, stride * 9)
    window = torch.hann_window(768)
    wave = torch.randn(2, 1, 192 * 12)
    spec = frame_stft(wave, 768, 192, window)
    assert spec.shape == (2, 385, 12)
    assert torch.allclose(overlap_add(spec, 768, 192, window), wave, atol=1e-5)


def test_snake_is_identity_plus_a_periodic_bump_and_trains_alpha():
    from musiclatent.nn.modern_layers import Snake1d

    snake = Snake1d(3)
    x = torch.linspace(-3, 3, 30).reshape(1, 3, 10)
    y = snake(x)
    assert torch.allclose(y, x + torch.sin(x).pow(2), atol=1e-6)
    y.sum().backward()
    assert snake.alpha.grad is not None and snake.alpha.grad.abs().sum() > 0


def test_unknown_activation_and_bad_strides_are_clear_errors():
    from musiclatent.architectures.modern import WaveAutoencoder
    from musiclatent.nn.modern_layers import activation

    with pytest.raises(ValueError, match="unknown activation"):
        activation("swish9", 4)
    with pytest.raises(ValueError, match="strides"):
        WaveAutoencoder(strides=[0])


@pytest.mark.parametrize("name", ["wave12", "mel12", "hybrid12"])
def test_recipe_loss_builds_and_gradients_reach_every_parameter(name):
    from musiclatent.losses import build_loss

    spec = get_registry().architecture(name)
    recipe = dict(spec.recipe)
    assert recipe["optimizer"] in ("adam", "adamw", "sgd")
    assert recipe["scheduler"]["name"] in ("step", "cosine", "none")
    loss_fn = build_loss(recipe["loss"], SR)
    model = spec.build()
    x = torch.randn(2, 1, 4096) * 0.1
    loss = loss_fn(model(x), x)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing


def _peak_hz(wave: torch.Tensor) -> float:
    spectrum = torch.fft.rfft(wave.flatten() * torch.hann_window(wave.numel())).abs()
    return float(spectrum.argmax()) * SR / wave.numel()


def test_mel_model_learns_the_pitch_of_a_sine():
    from musiclatent.losses import build_loss

    torch.manual_seed(0)
    spec = get_registry().architecture("mel12")
    model = spec.build()
    t = torch.arange(192 * 40) / SR
    sine = (0.5 * torch.sin(2 * math.pi * 440.0 * t)).reshape(1, 1, -1)
    loss_fn = build_loss(spec.recipe["loss"], SR)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(80):
        opt.zero_grad()
        loss = loss_fn(model(sine), sine)
        first = float(loss.detach()) if first is None else first
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = model(sine)
    assert out.shape == sine.shape and torch.isfinite(out).all()
    assert float(loss.detach()) < first
    assert abs(_peak_hz(out) - 440.0) < 30.0


def test_benchmark_help_lists_its_options():
    from click.testing import CliRunner

    from musiclatent.cli import cli

    result = CliRunner().invoke(cli, ["benchmark", "quality", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--models", "--budget-s", "--opus", "--encodec", "--out", "--threads", "--corpus", "--labels",
                   "--group-by"):
        assert option in result.output


def test_benchmark_rejects_unknown_models_before_training(tmp_path):
    from click.testing import CliRunner

    from musiclatent.cli import cli

    result = CliRunner().invoke(cli, ["benchmark", "quality", "--models", "nosuchmodel", "--out", str(tmp_path / "q")])
    assert result.exit_code == 1
    assert "unknown model 'nosuchmodel'" in result.output
    assert not (tmp_path / "q" / "runs").exists()


def test_quality_benchmark_smoke(tmp_path, tiny_corpus):
    from musiclatent.quality.benchmark import COLUMNS, format_table, kbps_of, run_quality
    from musiclatent.quality.references import ffmpeg_opus_available

    result = run_quality(tmp_path / "q", models=["wave48", "mel12"], budget_s=1.0, segment_seconds=1.0, epochs=1,
                         corpus=tiny_corpus, encodec=False, charts=False, progress=False)
    table = result.table
    assert tuple(table.columns) == COLUMNS
    rows = table.set_index("name")
    assert {"wave48", "mel12", "mfcc", "resample12", "resample48"} <= set(rows.index)
    assert rows.loc["mel12", "compression"] == "1/12"
    assert rows.loc["wave48", "kbps"] == pytest.approx(kbps_of(48)) == pytest.approx(7.35)
    assert rows.loc["resample12", "kbps"] == pytest.approx(29.4)
    for name in ("wave48", "mel12", "resample12"):
        assert math.isfinite(rows.loc[name, "mel"]) and math.isfinite(rows.loc[name, "si_sdr"])
    assert 0.0 <= rows.loc["mfcc", "probe_acc"] <= 1.0
    assert rows.loc["mel12", "enc_xrt"] > 0
    has_opus = ffmpeg_opus_available() is not None
    assert ("opus48" in rows.index) == has_opus
    if has_opus:
        assert "-b:a 7.35k" in rows.loc["opus48", "note"]  # 7.35 kbit/s is inside Opus's 6..510 range
    md = format_table(table)
    assert md.splitlines()[0].startswith("| name | family | kind | compression | kbps")
    assert (tmp_path / "q" / "quality.csv").exists() and (tmp_path / "q" / "quality.json").exists()
    assert (tmp_path / "q" / "runs" / "wave48" / "best.safetensors").exists()


def test_istft_head_phase_prior_overlap_adds_a_bin_centred_sine_coherently():
    from musiclatent.nn.modern_layers import ISTFTHead, bin_advance

    n_fft, hop, frames = 768, 192, 40
    adv = bin_advance(n_fft // 2 + 1, frames, n_fft, hop)
    assert adv.shape == (385, frames)
    assert torch.allclose(adv[9, 1] - adv[9, 0], torch.tensor(2 * math.pi * 9 * hop / n_fft % (2 * math.pi)))
    feats = torch.zeros(1, 4, frames)
    for phase in ("advance", "fixed"):
        head = ISTFTHead(4, n_fft, hop, phase=phase)
        bins = n_fft // 2 + 1
        with torch.no_grad():  # only bin 9 is loud, at a constant (zero-correction) phase
            head.proj.weight.zero_()
            head.proj.bias[:bins] = -20.0
            head.proj.bias[9] = math.log(100.0)
        y = head(feats)[0, 0, n_fft:-n_fft]
        t = torch.arange(y.numel(), dtype=torch.float32)
        basis = torch.stack([torch.cos(2 * math.pi * 9 * t / n_fft), torch.sin(2 * math.pi * 9 * t / n_fft)], 1)
        fit = torch.linalg.lstsq(basis, y.detach()[:, None]).solution
        residual = y.detach() - (basis @ fit)[:, 0]
        assert residual.pow(2).mean() < 1e-3 * y.detach().pow(2).mean()  # one steady sinusoid
    with pytest.raises(ValueError, match="phase"):
        ISTFTHead(4, n_fft, hop, phase="random")


def test_dac_mel_distance_sums_seven_scales():
    from musiclatent.metrics.audio import mel_distance
    from musiclatent.quality.benchmark import DAC_MEL_SCALES, dac_mel_distance

    g = torch.Generator().manual_seed(0)
    ref = torch.randn(2, 1, 4096, generator=g) * 0.1
    est = ref + 0.05 * torch.randn(2, 1, 4096, generator=g)
    d = dac_mel_distance(ref, est, SR)
    per_scale = sum(mel_distance(ref, est, SR, n_fft=f, n_mels=m) for f, m in DAC_MEL_SCALES)
    assert len(DAC_MEL_SCALES) == 7 and torch.allclose(d, per_scale, rtol=1e-5)
    assert float(dac_mel_distance(ref, ref, SR).abs().max()) == 0.0


def test_quality_benchmark_on_a_labelled_folder(tmp_path):
    """--corpus with a labels CSV: its split column picks the held-out tracks, the probe is grouped
    by source_track, DAC's mel distance is reported and spectrogram pictures are written."""
    import numpy as np

    from musiclatent.corpus.audio import write_audio
    from musiclatent.quality.benchmark import run_quality

    root = tmp_path / "c"
    rows = ["path,label,split,source_track"]
    rng = np.random.default_rng(0)
    for label, freq in (("low", 220.0), ("high", 1760.0)):
        for track in range(4):
            for clip in range(2):
                t = np.arange(SR * 2) / SR
                wave = 0.3 * np.sin(2 * np.pi * freq * (1 + 0.05 * track) * t) + 0.01 * rng.standard_normal(t.size)
                rel = f"{label}/t{track}__{clip}.wav"
                write_audio(root / rel, wave.astype(np.float32), SR)
                split = {3: "test", 2: "validation"}.get(track, "train")
                rows.append(f"{rel},{label},{split},{label}/t{track}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    result = run_quality(tmp_path / "q", models=["wave48"], budget_s=1.0, segment_seconds=1.0, epochs=1,
                         corpus=root, opus=False, encodec=False, charts=False, spectrograms=True, progress=False)
    info, rows_ = result.info, result.table.set_index("name")
    assert info["probe_grouped_by"] == "source_track" and info["probe_groups"] == 8
    assert info["test_tracks"] == 4 and info["test_segments"] == 8        # t3 of each label, 2 clips x 2 s
    import json

    trained_on = json.loads((tmp_path / "q" / "runs" / "wave48" / "run.json").read_text())["data"]["tracks"]
    assert trained_on == {"train": 8, "validation": 4, "test": 4}      # training kept the CSV's split
    assert info["spectrogram_segment"].split(" from ")[0] in {"high/t3__0", "high/t3__1", "low/t3__0", "low/t3__1"}
    for name in ("wave48", "resample48"):
        assert rows_.loc[name, "mel_dac"] > rows_.loc[name, "mel"] > 0   # a sum over 7 scales
    assert 0 <= rows_.loc["mfcc", "probe_acc"] <= 1 and rows_.loc["mfcc", "probe_std"] >= 0
    png = tmp_path / "q" / "spectrogram_wave48.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 200_000
