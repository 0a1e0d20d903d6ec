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
from musiclatent.fileio import atomic_path, sha256_file

CHECKPOINT_FORMAT = "musiclatent-checkpoint"
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


class CheckpointError(Exception):
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
        "sample_rate": int(getattr(model, "sample_rate", 22050)),
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
    try:
        model = registry.architecture(arch).build(**meta.get("config", {}))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: its config does not build {arch!r}: {exc}") from None
    try:
        state = load_file(str(path), device="cpu")
        model.load_state_dict(state, strict=True)
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise CheckpointError(f"{path}: weights do not load into {meta['arch']!r}: {exc}") from None
    model.to(device).eval()
    return model, meta


def save_training_state(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Optimiser/scheduler/RNG state for resuming (tensors and plain containers only)."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_training_state(path: str | os.PathLike) -> dict[str, Any]:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        # torch's message is many lines and suggests weights_only=False: keep only the first line
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise CheckpointError(
            f"{path}: unreadable training state ({type(exc).__name__}: {first}); "
            "it is not loaded (arbitrary objects are never unpickled); resume from another run"
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
