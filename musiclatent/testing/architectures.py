"""``check_architecture``: the checks every architecture passes (built-in or third-party).

Use it in your plugin's tests::

    from musiclatent.plugin_api import check_architecture

    def test_my_model():
        check_architecture("my-model")          # a registered name, or an ArchitectureSpec

Every check raises ``AssertionError`` with a message naming the model and what is wrong.
torch is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE

DEFAULT_LENGTHS: tuple[int, ...] = (110250, DEFAULT_SAMPLE_RATE, 1000, 37)


def _resolve(spec_or_name: Any):
    from musiclatent.registry import ArchitectureSpec

    if isinstance(spec_or_name, ArchitectureSpec):
        return spec_or_name
    from musiclatent.plugins import get_registry

    return get_registry().architecture(str(spec_or_name))


def _registry_with(spec):
    """A registry that knows ``spec`` (so a spec not registered by a plugin still round-trips)."""
    from musiclatent.plugins import get_registry
    from musiclatent.registry import Registry

    try:
        registered = get_registry().architectures.get(spec.name)
    except Exception:  # a broken environment should not hide the model's own problems
        registered = None
    if registered is spec:
        return get_registry()
    registry = Registry()
    registry.add(spec)
    return registry


def check_architecture(spec_or_name: Any, lengths: Sequence[int] = DEFAULT_LENGTHS, batch: int = 2,
                       seed: int = 0) -> None:
    """Assert that an architecture fulfils the ``AudioAutoencoder`` contract.

    Checks: it builds with its defaults; is an ``AudioAutoencoder``; ``encode`` gives
    ``[B, C, T']`` equal to ``latent_shape(T)``; ``decode(encode(x), T)`` and ``forward(x)`` give
    ``[B, 1, T]`` for every length; ``decode`` without a length covers the input;
    ``encoding_scale(T) == T / (C * T')``; gradients reach every parameter; the config is
    JSON-serialisable; a checkpoint round trip (``save_checkpoint``/``load_checkpoint``)
    rebuilds a model with identical outputs; decoding a random latent of the right shape works;
    ``mean_latent`` of a batch of latents is one latent ``[C, T']`` that decodes.
    """
    import torch

    from musiclatent.architectures.base import AudioAutoencoder
    from musiclatent.checkpoint import load_checkpoint, save_checkpoint

    spec = _resolve(spec_or_name)
    name = spec.name
    torch.manual_seed(seed)
    try:
        model = spec.build()
    except Exception as exc:
        raise AssertionError(f"{name}: building with its defaults failed: {type(exc).__name__}: {exc}") from exc
    assert isinstance(model, AudioAutoencoder), (
        f"{name}: factory returned {type(model).__name__}, not a musiclatent.architectures.base.AudioAutoencoder")
    assert isinstance(getattr(model, "sample_rate", None), int) and model.sample_rate > 0, (
        f"{name}: sample_rate must be a positive int, got {getattr(model, 'sample_rate', None)!r}")

    config = model.arch_config
    try:
        restored = json.loads(json.dumps(config))
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{name}: config is not JSON-serialisable ({exc}); checkpoints store it") from exc
    assert restored == config, f"{name}: config changes through JSON: {config!r} -> {restored!r}"

    model.eval()
    for length in lengths:
        x = torch.randn(batch, 1, length) * 0.1
        with torch.no_grad():
            z = model.encode(x)
            c, t = model.latent_shape(length)
            assert z.dim() == 3 and tuple(z.shape) == (batch, c, t), (
                f"{name}: encode of [{batch}, 1, {length}] gave {list(z.shape)}, "
                f"latent_shape({length}) says [{batch}, {c}, {t}]")
            assert torch.isfinite(z).all(), f"{name}: encode gave non-finite values (T={length})"
            scale = model.encoding_scale(length)
            assert abs(scale - length / (c * t)) < 1e-9 * max(1.0, scale), (
                f"{name}: encoding_scale({length}) = {scale}, expected T / (C * T') = {length / (c * t)}")
            y = model.decode(z, length)
            assert tuple(y.shape) == (batch, 1, length), (
                f"{name}: decode(encode(x), {length}) gave {list(y.shape)}, expected [{batch}, 1, {length}]")
            assert torch.isfinite(y).all(), f"{name}: decode gave non-finite values (T={length})"
            y_default = model.decode(z)
            assert y_default.dim() == 3 and y_default.shape[:2] == (batch, 1) and y_default.shape[-1] >= length, (
                f"{name}: decode(latent) without a length gave {list(y_default.shape)}; it must cover "
                f"the {length} input samples")
            f = model(x)
            assert tuple(f.shape) == (batch, 1, length), (
                f"{name}: forward of [{batch}, 1, {length}] gave {list(f.shape)}")
            assert torch.allclose(f, y, atol=1e-5, rtol=1e-4), (
                f"{name}: forward(x) differs from decode(encode(x), T) (T={length})")
            z_random = torch.randn(batch, c, t)
            y_random = model.decode(z_random, length)
            assert tuple(y_random.shape) == (batch, 1, length) and torch.isfinite(y_random).all(), (
                f"{name}: decode of a random latent [{batch}, {c}, {t}] gave {list(y_random.shape)} "
                "or non-finite values; decode must work from the latent alone")
            centre = model.mean_latent(z)
            assert tuple(centre.shape) == (c, t) and torch.isfinite(centre).all(), (
                f"{name}: mean_latent of [{batch}, {c}, {t}] latents gave {list(centre.shape)} or non-finite "
                f"values; it must give one latent [{c}, {t}]")
            y_centre = model.decode(centre[None], length)
            assert tuple(y_centre.shape) == (1, 1, length) and torch.isfinite(y_centre).all(), (
                f"{name}: decoding mean_latent's centre gave {list(y_centre.shape)} or non-finite values")

    _check_gradients(model, name, min(lengths, key=lambda n: abs(n - DEFAULT_SAMPLE_RATE)), batch)
    _check_checkpoint_round_trip(model, spec, name, lengths, batch, save_checkpoint, load_checkpoint)


def _check_gradients(model, name: str, length: int, batch: int) -> None:
    import torch

    model.train()
    model.zero_grad(set_to_none=True)
    x = torch.randn(batch, 1, length) * 0.1
    loss = torch.nn.functional.mse_loss(model(x), x)
    loss.backward()
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert params, f"{name}: the model has no trainable parameters"
    missing = [n for n, p in params if p.grad is None]
    assert not missing, f"{name}: no gradient reaches {', '.join(missing[:5])}"
    bad = [n for n, p in params if not torch.isfinite(p.grad).all()]
    assert not bad, f"{name}: non-finite gradients in {', '.join(bad[:5])}"
    assert any(p.grad.abs().sum() > 0 for _, p in params), f"{name}: every gradient is zero"
    model.zero_grad(set_to_none=True)
    model.eval()


def _check_checkpoint_round_trip(model, spec, name, lengths, batch, save_checkpoint, load_checkpoint) -> None:
    import torch

    length = min(lengths)
    x = torch.randn(batch, 1, length) * 0.1
    with torch.no_grad(), tempfile.TemporaryDirectory(prefix="musiclatent-check-") as tmp:
        path = Path(tmp) / f"{name}.safetensors"
        save_checkpoint(path, model, epoch=0)
        loaded, meta = load_checkpoint(path, registry=_registry_with(spec))
        assert meta.get("arch") == name, f"{name}: checkpoint records arch {meta.get('arch')!r}"
        assert type(loaded) is type(model), (
            f"{name}: checkpoint rebuilt a {type(loaded).__name__}, expected {type(model).__name__}")
        assert loaded.arch_config == model.arch_config, (
            f"{name}: checkpoint config {loaded.arch_config!r} differs from {model.arch_config!r}")
        model.eval()
        assert torch.equal(loaded.encode(x), model.encode(x)), (
            f"{name}: the model loaded from a checkpoint encodes differently")
        assert torch.equal(loaded(x), model(x)), (
            f"{name}: the model loaded from a checkpoint reconstructs differently")


__all__ = ["DEFAULT_LENGTHS", "check_architecture"]
