"""Numerics that do not depend on luck or on the torch release (issue 13).

The modern models must stay finite, forward and backward, on the signals that break naive audio code:
silence, a pure sine, full-scale square waves, clipped noise and DC. The causes found and fixed:

- ``torch.polar``'s backward goes through ``sgn(mag * e^(i phase))``, which returns NaN / -inf once a
  predicted magnitude ``exp(log_mag)`` is a float32 subnormal (log_mag around -88..-103); the mel
  models' iSTFT head met this within 15-40 Adam steps on a sine or on DC. The head now builds the
  complex spectrum from ``mag * cos`` and ``mag * sin``.
- Snake's ``1 / (alpha + 1e-9)`` is infinite when a learned alpha reaches -1e-9 (inf * sin(0)^2 = NaN).
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from musiclatent.losses import build_loss
from musiclatent.plugins import get_registry

SR = 22050
LENGTH = 192 * 40


def _signals(length: int = LENGTH) -> dict[str, torch.Tensor]:
    t = torch.arange(length) / SR
    g = torch.Generator().manual_seed(0)
    return {
        "silence": torch.zeros(length),
        "sine": 0.5 * torch.sin(2 * math.pi * 440.0 * t),
        "square": torch.sign(torch.sin(2 * math.pi * 110.0 * t)),
        "clipped_noise": (3 * torch.randn(length, generator=g)).clamp(-1, 1),
        "dc": torch.full((length,), 0.7),
    }


def _finite_grads(model: torch.nn.Module) -> list[str]:
    return [n for n, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]


def test_istft_head_gradients_are_finite_for_subnormal_magnitudes():
    from musiclatent.nn.modern_layers import ISTFTHead

    head = ISTFTHead(4, 768, 192, phase="advance")
    bins = 768 // 2 + 1
    with torch.no_grad():  # log-magnitudes in the float32 subnormal range, where polar's backward broke
        head.proj.weight[:bins].zero_()
        head.proj.bias[:bins] = -95.0  # exp(-95) = 5.5e-42: every bin subnormal, vectorised and scalar paths
    x = torch.randn(1, 4, 12, requires_grad=True)
    y = head(x)
    (y.pow(2).sum() + y.sum()).backward()
    assert torch.isfinite(y).all()
    assert torch.isfinite(x.grad).all()
    assert not _finite_grads(head)


@pytest.mark.parametrize("alpha", [0.0, -1e-9, 1e-12, -3e-5])
def test_snake_is_finite_when_alpha_reaches_zero(alpha):
    from musiclatent.nn.modern_layers import Snake1d

    snake = Snake1d(2, alpha=alpha)
    x = torch.linspace(-4, 4, 20).reshape(1, 2, 10).requires_grad_(True)
    y = snake(x)
    y.sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(x.grad).all() and torch.isfinite(snake.alpha.grad).all()
    assert torch.allclose(y, x, atol=1e-3)  # sin(a x)^2 / a -> 0 as a -> 0


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    registry = get_registry()
    return {name: (registry.architecture(name).build(), build_loss(registry.architecture(name).recipe["loss"], SR))
            for name in ("mel12", "wave12")}


@pytest.mark.parametrize("name", ["mel12", "wave12"])
@pytest.mark.parametrize("signal", sorted(_signals()))
def test_forward_and_backward_are_finite_on_odd_signals(models, name, signal):
    model, loss_fn = models[name]
    model.zero_grad()
    x = _signals()[signal].reshape(1, 1, -1)
    y = model(x)
    loss = loss_fn(y, x)
    loss.backward()
    assert torch.isfinite(y).all() and torch.isfinite(loss)
    assert not _finite_grads(model)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(kind=st.sampled_from(["sine", "square", "dc", "impulse", "noise"]),
       amplitude=st.sampled_from([0.0, 1e-7, 1e-3, 0.5, 1.0]),
       hz=st.floats(20.0, 10000.0), name=st.sampled_from(["mel12", "wave12"]))
def test_fuzz_forward_backward_finite(models, kind, amplitude, hz, name):
    t = torch.arange(192 * 24) / SR
    x = {"sine": torch.sin(2 * math.pi * hz * t), "square": torch.sign(torch.sin(2 * math.pi * hz * t)),
         "dc": torch.ones_like(t), "impulse": (torch.arange(t.numel()) % int(SR / hz + 1) == 0).float(),
         "noise": torch.randn(t.numel(), generator=torch.Generator().manual_seed(int(hz)))}[kind]
    x = (amplitude * x).clamp(-1, 1).reshape(1, 1, -1)
    model, loss_fn = models[name]
    model.zero_grad()
    y = model(x)
    loss_fn(y, x).backward()
    assert torch.isfinite(y).all() and not _finite_grads(model)


@pytest.mark.parametrize("signal", ["sine", "dc"])
@pytest.mark.parametrize("seed", [1, 3])
def test_mel12_training_on_a_sine_or_dc_stays_finite(signal, seed):
    """The reproduction of issue 13: before the fix, seeds 1..5 met NaN gradients in 12-40 steps."""
    torch.manual_seed(seed)
    spec = get_registry().architecture("mel12")
    model = spec.build()
    loss_fn = build_loss(spec.recipe["loss"], SR)
    x = _signals()[signal].reshape(1, 1, -1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(45):
        opt.zero_grad()
        loss = loss_fn(model(x), x)
        loss.backward()
        assert torch.isfinite(loss), f"non-finite loss at step {step}"
        assert not _finite_grads(model), f"non-finite gradient at step {step}"
        opt.step()
