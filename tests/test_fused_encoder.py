"""The linear seed models' fused inference encoder equals their conv stack."""

import pytest
import torch

from musiclatent.plugins import get_registry


@pytest.mark.parametrize("name", ["alt3", "alt4", "alt5"])
@pytest.mark.parametrize("length", [1, 37, 1000, 5000, 22050, 110250, 110251])
def test_fused_encoder_equals_the_stack(name, length):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = get_registry().architecture(name).build().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # not just the initialisation
    x = torch.randn(2, 1, length)
    with torch.enable_grad():
        reference = model.encode(x).detach()  # training path: the conv stack
    with torch.inference_mode():
        fused = model.encode(x)
    assert fused.shape == reference.shape == (2, *model.latent_shape(length))
    scale = reference.abs().max()
    assert torch.allclose(fused, reference, atol=1e-5 * float(scale), rtol=0)


def test_fused_encoder_follows_weight_updates():
    torch.set_num_threads(1)
    model = get_registry().architecture("alt5").build().eval()
    x = torch.randn(1, 1, 22050)
    with torch.inference_mode():
        before = model.encode(x).clone()
    with torch.no_grad():
        model.encoder[0].weight.mul_(2.0)  # an optimiser step or a checkpoint load changes weights
    with torch.inference_mode():
        after = model.encode(x)
    with torch.enable_grad():
        reference = model.encode(x).detach()
    assert not torch.allclose(before, after)
    assert torch.allclose(after, reference, atol=1e-5 * float(reference.abs().max()), rtol=0)
