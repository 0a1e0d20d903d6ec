"""The seed models' layers (alt1..alt5): strided convs, index-free unpooling, scale-preserving init.

The networks are ``musiclatent.architectures.seed``; the modern codecs' layers are in
``musiclatent.nn.modern_layers``. Importing this module imports torch; only model code imports it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid,
               nn.Softplus, nn.Hardtanh)
"""Activation module types (used by tests that check a model is linear)."""


def conv_out_length(length: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of ``nn.Conv1d``/``nn.MaxPool1d`` (floor mode, no dilation)."""
    return (length + 2 * padding - kernel) // stride + 1


def down_conv(c_in: int, c_out: int, stride: int, padding: int = 1) -> nn.Conv1d:
    """A strided conv with ``kernel = stride + 2 * padding``: exactly ``L / stride`` frames when
    ``L`` is a multiple of ``stride``."""
    return nn.Conv1d(c_in, c_out, kernel_size=stride + 2 * padding, stride=stride, padding=padding)


def up_conv(c_in: int, c_out: int, stride: int, padding: int = 1) -> nn.ConvTranspose1d:
    """The mirror of :func:`down_conv`: exactly ``L * stride`` samples."""
    return nn.ConvTranspose1d(c_in, c_out, kernel_size=stride + 2 * padding, stride=stride,
                              padding=padding)


class LeftUnpool1d(nn.Module):
    """Unpooling that needs no pooling indices: ``nn.MaxUnpool1d`` with every value placed at
    the first (left) position of its window and zeros elsewhere.

    A decoder has only the latent (it must decode interpolated or averaged latents too), so it
    cannot receive the encoder's ``MaxPool1d`` indices; this fixed placement is the index-free
    stand-in, and the learned transposed conv after it does the interpolation.
    """

    def __init__(self, kernel_size: int):
        super().__init__()
        self.kernel_size = kernel_size
        self.unpool = nn.MaxUnpool1d(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, n = x.shape
        idx = (torch.arange(n, device=x.device) * self.kernel_size).expand(b, c, n).contiguous()
        return self.unpool(x, idx)


def init_scale_preserving(model: nn.Module, relu_gain: bool = False) -> None:
    """Initialise conv weights so every layer roughly preserves signal variance.

    PyTorch's default init shrinks the variance about 3x per layer, so a six-layer linear
    autoencoder would start near silence. Here ``std = gain / sqrt(fan_in)`` where fan-in of a
    transposed conv counts the ``kernel / stride`` taps that overlap each output sample;
    ``gain = sqrt(2)`` for layers followed by ReLU when ``relu_gain``. Biases start at zero.
    """
    gain = math.sqrt(2.0) if relu_gain else 1.0
    for module in model.modules():
        if isinstance(module, nn.ConvTranspose1d):
            c_in, _, k = module.weight.shape
            fan_in = c_in * max(1.0, k / module.stride[0])
        elif isinstance(module, nn.Conv1d):
            _, c_in, k = module.weight.shape
            fan_in = c_in * k
        else:
            continue
        nn.init.normal_(module.weight, 0.0, gain / math.sqrt(fan_in))
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def as_int_list(values: Sequence[int] | int, name: str) -> list[int]:
    """Validate a config list of positive ints (configs come from JSON and the CLI)."""
    if isinstance(values, int):
        values = [values]
    out = [int(v) for v in values]
    if not out or any(v < 1 for v in out):
        raise ValueError(f"{name} must be a non-empty list of positive integers, got {values!r}")
    return out
