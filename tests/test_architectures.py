"""Conformance of every registered architecture, and the seed models' exact report sizes."""

from __future__ import annotations

import dataclasses

import pytest
import torch  # a hard dependency: a broken torch must fail, not skip

from musiclatent.plugins import get_registry
from musiclatent.testing import check_architecture

torch.set_num_threads(1)

SEED_LENGTH = 110250  # 5 s at 22050 Hz, the seed report's clip
ARCHITECTURES = sorted(get_registry().architectures)
SEED_SIZES = {"alt1": (32, 1723), "alt2": (16, 3451), "alt3": (4, 18375), "alt4": (10, 3675),
              "alt5": (3, 3063)}
REPORT_VALUES = {"alt1": 55136, "alt2": 55216, "alt4": 36750, "alt5": 9189}
REPORT_SCALES = {"alt1": 1.9996009866511897, "alt2": 1.9967038539553752, "alt4": 3.0,
                 "alt5": 11.998041136141039}


def test_seed_models_are_registered():
    assert set(SEED_SIZES) <= set(ARCHITECTURES)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_architecture_conformance(name):
    check_architecture(name)


@pytest.mark.parametrize("name", sorted(SEED_SIZES))
def test_seed_latent_size_matches_report(name):
    model = get_registry().architecture(name).build()
    with torch.no_grad():
        z = model.encode(torch.zeros(1, 1, SEED_LENGTH))
    assert tuple(z.shape[1:]) == SEED_SIZES[name]
    assert model.latent_shape(SEED_LENGTH) == SEED_SIZES[name]
    if name in REPORT_VALUES:
        assert z.numel() == REPORT_VALUES[name]
        assert model.encoding_scale(SEED_LENGTH) == pytest.approx(REPORT_SCALES[name], rel=1e-12)
    else:  # alt3: "latent larger than alt4's", smaller than the input
        assert 36750 < z.numel() < SEED_LENGTH


@pytest.mark.parametrize("name", ["alt3", "alt4", "alt5"])
def test_linear_seed_models_have_no_activations(name):
    from musiclatent.nn.seed_layers import ACTIVATIONS

    model = get_registry().architecture(name).build()
    found = [type(m).__name__ for m in model.modules()
             if isinstance(m, ACTIVATIONS) or isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert found == []
    # and the map is affine: f(a + b) - f(0) == (f(a) - f(0)) + (f(b) - f(0))
    torch.manual_seed(0)
    a, b, zero = torch.randn(1, 1, 720), torch.randn(1, 1, 720), torch.zeros(1, 1, 720)
    with torch.no_grad():
        f0 = model(zero)
        assert torch.allclose(model(a + b) - f0, (model(a) - f0) + (model(b) - f0), atol=1e-4)


@pytest.mark.parametrize("name", ["alt1", "alt2"])
def test_nonlinear_seed_models_use_relu(name):
    model = get_registry().architecture(name).build()
    assert any(isinstance(m, torch.nn.ReLU) for m in model.modules())


def test_alt2_pools_and_unpools():
    model = get_registry().architecture("alt2").build()
    kinds = {type(m).__name__ for m in model.modules()}
    assert "MaxPool1d" in kinds and "MaxUnpool1d" in kinds
    nearest = get_registry().architecture("alt2").build(unpool="nearest")
    assert any(isinstance(m, torch.nn.Upsample) for m in nearest.modules())
    spec = get_registry().architecture("alt2")
    check_architecture(dataclasses.replace(spec, defaults={**spec.defaults, "unpool": "nearest"}),
                       lengths=(1000, 37))


def test_alt2_decodes_an_interpolated_latent():
    model = get_registry().architecture("alt2").build().eval()
    torch.manual_seed(0)
    x = torch.randn(2, 1, 4000) * 0.1
    with torch.no_grad():
        z = model.encode(x)
        mid = model.decode(0.5 * (z[:1] + z[1:]), 4000)
    assert mid.shape == (1, 1, 4000) and torch.isfinite(mid).all() and mid.abs().sum() > 0


def test_left_unpool_places_values_at_window_start():
    from musiclatent.nn.seed_layers import LeftUnpool1d

    out = LeftUnpool1d(3)(torch.tensor([[[1.0, 2.0]]]))
    assert out.tolist() == [[[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]]]


def test_alt1_interpolates_a_mismatched_decoder_output():
    model = get_registry().architecture("alt1").build()
    with torch.no_grad():
        z = model.encode(torch.zeros(1, 1, 640))
        raw = model.decoder(z)
        out = model.decode(z)
    assert raw.shape[-1] != 640  # the transposed convs do not give the input length (as in the report)
    assert out.shape[-1] == 640


@pytest.mark.parametrize("name", sorted(SEED_SIZES))
def test_seed_models_start_at_a_useful_scale(name):
    """Scale-preserving init: an untrained model neither silences nor explodes its input."""
    torch.manual_seed(0)
    model = get_registry().architecture(name).build()
    x = torch.randn(2, 1, 22050) * 0.1
    with torch.no_grad():
        ratio = float(model(x).std() / x.std())
    assert 0.2 < ratio < 5.0


@pytest.mark.parametrize("name", sorted(SEED_SIZES))
def test_seed_models_are_small_and_have_recipes(name):
    """Parameter counts as docs/architectures.md states them, and the seed report's recipe written
    out literally (README: MSE, Adam, StepLR(4, 0.5), batches of 10 / 20, the grid's learning rates)."""
    from musiclatent.architectures.base import count_parameters

    spec = get_registry().architecture(name)
    assert count_parameters(spec.build()) == {"alt1": 23_409, "alt2": 16_657, "alt3": 1_605, "alt4": 15_115,
                                              "alt5": 11_844}[name]
    assert spec.recipe == {
        "loss": "mse", "optimizer": "adam", "epochs": 30, "batch_size": 10, "eval_batch_size": 20,
        "scheduler": {"name": "step", "step_size": 4, "gamma": 0.5},
        "lr": {"alt1": 0.001, "alt2": 0.001, "alt3": 0.01, "alt4": 0.01, "alt5": 0.005}[name],
    }
    assert spec.distribution == "musiclatent 0.1.0"
    assert spec.description.startswith("Seed Net")


def test_bad_config_is_a_clear_error():
    with pytest.raises(ValueError, match="unpool"):
        get_registry().architecture("alt2").build(unpool="bilinear")
    with pytest.raises(ValueError, match="strides"):
        get_registry().architecture("alt4").build(strides=[0, 3])


def _tiny_conv_model():
    """A 4x conv autoencoder whose encode pads to whole frames (fulfils the contract)."""
    from musiclatent.architectures.base import AudioAutoencoder, fit_length

    class TinyConv(AudioAutoencoder):
        hop = 4
        latent_channels = 2

        def __init__(self):
            super().__init__()
            self.enc = torch.nn.Conv1d(1, 2, 4, stride=4)
            self.dec = torch.nn.ConvTranspose1d(2, 1, 4, stride=4)

        def encode(self, wave):
            return self.enc(torch.nn.functional.pad(wave, (0, -wave.shape[-1] % 4)))

        def decode(self, latent, length=None):
            return fit_length(self.dec(latent), length)

    return TinyConv


def test_check_architecture_catches_a_broken_model():
    from musiclatent.registry import ArchitectureSpec

    class WrongShape(_tiny_conv_model()):
        def encode(self, wave):
            return self.enc(wave)  # floor: disagrees with ceil latent_shape

    check_architecture(ArchitectureSpec(name="right", description="x", factory=_tiny_conv_model()), lengths=(37,))
    spec = ArchitectureSpec(name="wrong", description="x", factory=WrongShape)
    with pytest.raises(AssertionError, match="wrong: encode of"):
        check_architecture(spec, lengths=(37,))


def test_check_architecture_catches_a_mean_latent_of_the_wrong_shape():
    from musiclatent.registry import ArchitectureSpec

    class KeepsTheBatch(_tiny_conv_model()):
        def mean_latent(self, latents):
            return latents.mean(dim=0, keepdim=True)  # [1, C, T'], not [C, T']

    spec = ArchitectureSpec(name="centre", description="x", factory=KeepsTheBatch)
    with pytest.raises(AssertionError, match=r"centre: mean_latent of \[2, 2, 10\] latents gave \[1, 2, 10\]"):
        check_architecture(spec, lengths=(37,))


def test_models_command_lists_the_seed_models():
    import json

    from click.testing import CliRunner

    from musiclatent.cli import cli

    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["alt5"]["latent_values"] == 9189 and rows["alt5"]["latent_shape"] == [3, 3063]
    assert rows["alt2"]["latent_values"] == 55216
    text = CliRunner().invoke(cli, ["models"])
    assert text.exit_code == 0 and "autoencoder_alt4" in text.output


@pytest.mark.parametrize("name", sorted(SEED_SIZES))
def test_factory_defaults_equal_spec_defaults(name):
    """``musiclatent.architectures.seed.AltN()`` called directly builds the same model as the registry."""
    from musiclatent.architectures import seed
    from musiclatent.architectures.base import count_parameters

    direct = getattr(seed, name.capitalize())()
    built = get_registry().architecture(name).build()
    assert direct.latent_shape(SEED_LENGTH) == built.latent_shape(SEED_LENGTH)
    assert count_parameters(direct) == count_parameters(built)
