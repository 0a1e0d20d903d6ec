"""Guards that keep a run's checkpoints finite: a non-finite loss, gradient, weight or validation
loss stops training before anything of the failing epoch is saved."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch


def first_nonfinite(named: list[tuple[str, torch.Tensor]]) -> str | None:
    """The name of the first tensor holding NaN or Inf (``None`` when all are finite)."""
    tensors = [t.detach() for _, t in named]
    if not tensors:
        return None
    norms = torch._foreach_norm(tensors) if hasattr(torch, "_foreach_norm") else [t.norm() for t in tensors]
    if math.isfinite(float(torch.stack([n.double() for n in norms]).sum())):
        return None  # one synchronisation in the usual case
    for (name, _), norm in zip(named, norms, strict=True):
        if not math.isfinite(float(norm)):
            return name
    return None


def nonfinite_gradient(net: torch.nn.Module) -> str | None:
    """The first parameter whose gradient is not finite."""
    return first_nonfinite([(n, p.grad) for n, p in net.named_parameters() if p.grad is not None])


def nonfinite_weight(net: torch.nn.Module) -> str | None:
    """The first parameter or buffer that is not finite."""
    named = [(n, t) for n, t in net.state_dict().items() if torch.is_tensor(t) and t.is_floating_point()]
    return first_nonfinite(named)


def last_good(run_dir: Path, history: list[dict[str, Any]], best: dict[str, Any]) -> str:
    """Where the last good checkpoint is, for the error message."""
    if not history:
        return f"no checkpoint was written by this run ({run_dir})"
    where = f"the last good checkpoint is epoch {history[-1]['epoch']}: {run_dir / 'last.safetensors'}"
    if best.get("epoch") is not None:
        where += f" (best: epoch {best['epoch']}, {run_dir / 'best.safetensors'})"
    return where
