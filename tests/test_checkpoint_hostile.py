"""Checkpoints with NaN weights or a hostile config, and a training state torch refuses: each is
one line, refused before anything big is allocated, never advising the unsafe loader (issue 17)."""

from __future__ import annotations

import json
import time

import pytest
import torch
from safetensors.torch import save_file

from musiclatent.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_training_state,
    save_checkpoint,
)
from musiclatent.plugins import get_registry

torch.set_num_threads(1)


def _with_config(tmp_path, arch: str, **changes):
    """A checkpoint of ``arch`` (defaults) whose metadata config was edited, weights unchanged."""
    model = get_registry().architecture(arch).build()
    path = save_checkpoint(tmp_path / f"{arch}.safetensors", model)
    with open(path, "rb") as fh:
        header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
    meta = json.loads(header["__metadata__"]["musiclatent"])
    meta["config"] = {**meta["config"], **changes}
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"musiclatent": json.dumps(meta)})
    return path


@pytest.mark.parametrize("arch,changes,needle", [
    ("mel12", {"n_fft": -768}, "n_fft = -768 is outside"),
    ("mel12", {"stft_hop": 0}, "stft_hop = 0 is outside"),
    ("mel12", {"channels": 1_000_000}, "channels = 1000000 is outside"),
    ("alt5", {"width": 1_000_000}, "width = 1000000 is outside"),
    ("alt5", {"strides": [3, 0, 4]}, "strides = 0 is outside"),
    ("alt5", {"sample_rate": 1}, "sample_rate = 1 is outside"),
    ("vq12", {"decay": float("nan")}, "not a finite number"),
    ("alt5", {"width": 30_000}, "tensors differ"),  # within bounds: the meta-device build catches it
])
def test_hostile_config_is_one_line_before_allocating(tmp_path, arch, changes, needle):
    path = _with_config(tmp_path, arch, **changes)
    started = time.perf_counter()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert needle in message and str(path) in message and "\n" not in message, message
    assert time.perf_counter() - started < 30  # nothing of 30000 x 30000 channels was allocated


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nan_weights_are_refused_at_load(tmp_path, value):
    model = get_registry().architecture("alt5").build(width=8)
    with torch.no_grad():
        next(iter(model.parameters())).view(-1)[0] = value
    path = save_checkpoint(tmp_path / "nan.safetensors", model)
    with pytest.raises(CheckpointError, match="holds NaN or infinite values"):
        load_checkpoint(path)


class _Thing:
    pass


def test_training_state_error_never_suggests_the_unsafe_loader(tmp_path):
    path = tmp_path / "last.state.pt"
    torch.save({"epoch": 1, "thing": _Thing()}, path)
    with pytest.raises(CheckpointError) as info:
        load_training_state(path)
    message = str(info.value)
    assert "unreadable training state" in message and str(path) in message and "\n" not in message
    assert "weights_only" not in message and "can still be loaded" not in message, message
