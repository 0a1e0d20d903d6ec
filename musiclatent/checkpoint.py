"""Checkpoints that alone rebuild their model, and never unpickle arbitrary objects.

A checkpoint is one ``.safetensors`` file: the weights as tensors and, in its string metadata,
a JSON document with the architecture name, its config, the format version, the musiclatent
version and training metadata (epoch, metrics, ...). Optimiser/scheduler/RNG state for
``--resume`` lives beside it in ``<name>.state.pt``, read with ``torch.load(weights_only=True)``.

Pretrained checkpoints ship inside the package, ``musiclatent/pretrained/<model>.safetensors``
(how they were trained, on what music and under which licences: the README.md beside them);
``pretrained_checkpoint(name)`` finds one, ``pretrained_models()`` lists them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from musiclatent import FORMAT_VERSION, __version__
from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.errors import MusiclatentError
from musiclatent.fileio import atomic_path, sha256_file

CHECKPOINT_FORMAT = "musiclatent-checkpoint"
MAX_PARAMETERS = 500_000_000  # weights a checkpoint may hold (2 GB of float32)
MAX_CONFIG_INT = 65_536  # architecture config integers are sizes: 1..this (sample_rate: its own range)
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


class CheckpointError(MusiclatentError):
    """A checkpoint is missing, corrupt, tampered with, or of another kind."""


def save_checkpoint(path: str | os.PathLike, model, **metadata: Any) -> Path:
    """Write ``model`` (built by an ``ArchitectureSpec``) and ``metadata`` atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    meta = {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "musiclatent_version": __version__,
        "arch": model.arch_name,
        "config": model.arch_config,
        "sample_rate": int(getattr(model, "sample_rate", DEFAULT_SAMPLE_RATE)),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **metadata,
    }
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"musiclatent": json.dumps(meta, default=str)})
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint's metadata without loading weights or torch."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        with open(path, "rb") as fh:
            header_len = int.from_bytes(fh.read(8), "little")
            if header_len <= 0 or header_len > 100_000_000:
                raise ValueError("bad header length")
            header = json.loads(fh.read(header_len))
        meta = json.loads(header["__metadata__"]["musiclatent"])
    except Exception as exc:
        raise CheckpointError(
            f"{path}: not a musiclatent checkpoint ({type(exc).__name__}: {exc}); "
            "train a model with `musiclatent train` or pass another --checkpoint"
        ) from None
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a musiclatent checkpoint")
    if int(meta.get("format_version", -1)) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {meta.get('format_version')} is newer than this "
            f"musiclatent ({FORMAT_VERSION}); upgrade musiclatent"
        )
    return meta


def load_checkpoint(path: str | os.PathLike, expected_sha256: str | None = None, registry=None, device="cpu"):
    """Rebuild the model a checkpoint describes; returns ``(model, metadata)``.

    ``expected_sha256`` (e.g. from a latent table's metadata) refuses a checkpoint that changed.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    meta = read_metadata(path)
    if expected_sha256 is not None:
        actual = sha256_file(path)
        if actual != expected_sha256:
            raise CheckpointError(
                f"{path}: sha256 {actual[:12]}… differs from the expected {expected_sha256[:12]}…; "
                "the checkpoint changed since the table was encoded (re-encode, or pass the original checkpoint)"
            )
    if registry is None:
        from musiclatent.plugins import get_registry

        registry = get_registry()
    arch = meta.get("arch")
    if arch not in registry.architectures:
        known = ", ".join(sorted(registry.architectures)) or "none"
        raise CheckpointError(
            f"{path}: made by architecture {arch!r}, which no installed plugin registers "
            f"(registered: {known}); install the plugin that provides it"
        )
    config = meta.get("config", {})
    check_config(path, arch, config)
    shapes = _tensor_shapes(path)
    spec = registry.architecture(arch)
    _check_size_on_meta(path, arch, spec, config, shapes)
    try:
        model = spec.build(**config)
        model.latent_shape(int(getattr(model, "sample_rate", DEFAULT_SAMPLE_RATE)))  # sizes that divide by zero fail here
    except (TypeError, ValueError, RuntimeError, ArithmeticError, MemoryError, IndexError, KeyError) as exc:
        raise CheckpointError(f"{path}: its config does not build {arch!r}: {_first_line(exc)}") from None
    try:
        state = load_file(str(path), device="cpu")
        model.load_state_dict(state, strict=True)
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise CheckpointError(f"{path}: weights do not load into {meta['arch']!r}: {_first_line(exc)}") from None
    import torch

    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(
                f"{path}: weight {name!r} holds NaN or infinite values (training diverged or the file is "
                "damaged); use an earlier checkpoint")
    model.to(device).eval()
    return model, meta


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:300] if text else ''}"


def check_config(path: str | os.PathLike, arch: str, config: Any) -> None:
    """Refuse, before anything is built, a config no trained model has: not a mapping, a number that
    is NaN/infinite, an integer size outside 1..``MAX_CONFIG_INT``, a sample rate outside
    1000-768000 Hz (e.g. a hostile negative ``n_fft``, zero hop or a million channels)."""
    from musiclatent.corpus.rates import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: config of {arch!r} is {type(config).__name__}, not a mapping")

    def check(key: str, value: Any) -> None:
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return
        if isinstance(value, (list, tuple)):
            for v in value:
                check(key, v)
            return
        if isinstance(value, dict):
            for k, v in value.items():
                check(f"{key}.{k}", v)
            return
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise CheckpointError(f"{path}: config {key} = {value} is not a finite number; not a trained model")
            return
        if isinstance(value, int):
            low, high = (MIN_SAMPLE_RATE, MAX_SAMPLE_RATE) if key == "sample_rate" else (1, MAX_CONFIG_INT)
            if not low <= value <= high:
                raise CheckpointError(
                    f"{path}: config {key} = {value} is outside {low}..{high}; the checkpoint is damaged or "
                    "hostile, not loaded")
            return
        raise CheckpointError(f"{path}: config {key} holds a {type(value).__name__}; not a musiclatent config")

    for key, value in config.items():
        check(str(key), value)


def _tensor_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Weight shapes from the safetensors header (nothing allocated); the total is bounded."""
    with open(path, "rb") as fh:
        header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
    shapes = {k: tuple(int(d) for d in v.get("shape", ())) for k, v in header.items()
              if k != "__metadata__" and isinstance(v, dict)}
    total = 0
    for shape in shapes.values():
        n = 1
        for d in shape:
            n *= d
        total += n
    if total > MAX_PARAMETERS:
        raise CheckpointError(f"{path}: holds {total:,} weights, over the {MAX_PARAMETERS:,} allowed; not loaded")
    return shapes


def _check_size_on_meta(path: Path, arch: str, spec, config: dict[str, Any],
                        shapes: dict[str, tuple[int, ...]]) -> None:
    """Build ``arch`` on torch's meta device (no memory) and compare its weight shapes with the
    file's before the real build allocates anything; skipped for models that cannot build there."""
    import torch

    try:
        with torch.device("meta"):
            model = spec.build(**config)
    except Exception:  # noqa: BLE001 - e.g. a filterbank computed at build: the guarded real build decides
        return
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if want != shapes:
        diff = sorted(k for k in set(want) | set(shapes) if want.get(k) != shapes.get(k))
        raise CheckpointError(
            f"{path}: weights do not load into {arch!r} with its config ({len(diff)} tensors differ, "
            f"e.g. {diff[0]!r}); the checkpoint is damaged or its config was changed")


def save_training_state(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Optimiser/scheduler/RNG state for resuming (tensors and plain containers only)."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_training_state(path: str | os.PathLike) -> dict[str, Any]:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such training state; train without --resume") from None
    except Exception as exc:
        # torch's message suggests weights_only=False, which would run code from the file: never quoted
        raise CheckpointError(
            f"{path}: unreadable training state ({type(exc).__name__}: it holds something other than tensors "
            "and plain containers, or is damaged); it is not loaded (objects are never unpickled); "
            "resume from another run or train without --resume"
        ) from None


def pretrained_models() -> dict[str, Path]:
    """The models with weights shipped in the package: ``{name: path}`` (sorted by name)."""
    if not PRETRAINED_DIR.is_dir():
        return {}
    return {p.stem: p for p in sorted(PRETRAINED_DIR.glob("*.safetensors")) if p.is_file()}


def pretrained_checkpoint(name: str) -> Path:
    """The shipped checkpoint of model ``name``; ``CheckpointError`` when there is none."""
    found = pretrained_models()
    if name not in found:
        shipped = ", ".join(found) or "none"
        raise CheckpointError(
            f"no pretrained weights for {name!r} (shipped: {shipped}); train it with "
            f"`musiclatent train --model {name}` and drop --pretrained")
    return found[name]


def find_pretrained(sha256: str | None) -> Path | None:
    """The shipped checkpoint whose sha256 is ``sha256`` (a table encoded by an older install), if any."""
    if not sha256:
        return None
    for path in pretrained_models().values():
        if sha256_file(path) == sha256:
            return path
    return None
