"""Fitting a model to one batch with its recipe's loss, for tests that check training moves it."""

from __future__ import annotations

import torch

from musiclatent.losses import build_loss


def fit_steps(model, x: torch.Tensor, loss_spec: str, sample_rate: int, lr: float, steps: int) -> list[float]:
    """``steps`` Adam steps of ``model(x)`` towards ``x`` under ``loss_spec``; the loss of each step."""
    loss_fn = build_loss(loss_spec, sample_rate)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), x)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses
