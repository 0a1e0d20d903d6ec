"""Pluggable losses and weighted sums."""

from __future__ import annotations

import pytest
import torch

from musiclatent.losses import LOSSES, LossSpecError, build_loss, parse_loss_spec

torch.set_num_threads(1)


def _pair():
    g = torch.Generator().manual_seed(0)
    ref = torch.randn(2, 1, 2048, generator=g)
    return ref + 0.1 * torch.randn(2, 1, 2048, generator=g), ref


def test_mse_and_l1_match_torch():
    est, ref = _pair()
    assert torch.allclose(build_loss("mse")(est, ref), torch.nn.functional.mse_loss(est, ref))
    assert torch.allclose(build_loss("l1")(est, ref), torch.nn.functional.l1_loss(est, ref))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_is_a_scalar_with_gradient(name):
    est, ref = _pair()
    est.requires_grad_(True)
    value = build_loss(name, 8000)(est, ref)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    assert est.grad is not None and est.grad.abs().sum() > 0


def test_weighted_sum_equals_sum_of_parts():
    est, ref = _pair()
    combo = build_loss("l1 + 2*mrstft", 8000)(est, ref)
    expected = build_loss("l1")(est, ref) + 2 * build_loss("mrstft", 8000)(est, ref)
    assert torch.allclose(combo, expected)
    assert parse_loss_spec("0.5*mse+mel") == [(0.5, "mse"), (1.0, "mel")]


def test_identical_signals_give_zero():
    _, ref = _pair()
    for spec in ("mse", "l1", "mrstft", "l1+mel"):
        assert float(build_loss(spec, 8000)(ref, ref)) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("bad", ["", "huber", "l1+", "2**mse"])
def test_unknown_or_malformed_specs_list_the_known_losses(bad):
    with pytest.raises(LossSpecError, match="mse"):
        build_loss(bad)


def test_mrstft_plus_mel_shares_stfts_with_the_same_value_and_gradient():
    from musiclatent.losses import LOSSES, MrstftMel, WeightedSum

    est, ref = _pair()
    est.requires_grad_(True)
    fused = build_loss("l1+2*mrstft+0.5*mel", 8000)
    assert any(isinstance(m, MrstftMel) for m in fused.modules())
    separate = WeightedSum([(1.0, "l1", LOSSES["l1"](8000)), (2.0, "mrstft", LOSSES["mrstft"](8000)),
                            (0.5, "mel", LOSSES["mel"](8000))])
    a = fused(est, ref)
    (grad_a,) = torch.autograd.grad(a, est)
    b = separate(est, ref)
    (grad_b,) = torch.autograd.grad(b, est)
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)
    assert torch.allclose(grad_a, grad_b, rtol=1e-4, atol=1e-7)
