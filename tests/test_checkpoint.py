"""Checkpoints: round trip, metadata, tampering, truncation, malicious pickles, unknown models."""

from __future__ import annotations

import os
import pickle

import pytest
import torch  # a hard dependency: a broken torch must fail, not skip

from musiclatent import FORMAT_VERSION, __version__
from musiclatent.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_training_state,
    read_metadata,
    save_checkpoint,
    save_training_state,
)
from musiclatent.fileio import sha256_file
from musiclatent.plugins import get_registry
from musiclatent.registry import ArchitectureSpec, Registry

torch.set_num_threads(1)


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = get_registry().architecture("alt5").build(width=8)
    path = save_checkpoint(tmp_path / "alt5.safetensors", model, epoch=3, metrics={"val_loss": 0.25})
    return model, path


def test_round_trip_rebuilds_the_same_model(checkpoint):
    model, path = checkpoint
    loaded, meta = load_checkpoint(path)
    assert loaded.arch_name == "alt5" and loaded.arch_config["width"] == 8
    x = torch.randn(1, 1, 2000)
    with torch.no_grad():
        assert torch.equal(loaded(x), model.eval()(x))
    assert not loaded.training


def test_metadata(checkpoint):
    _, path = checkpoint
    meta = read_metadata(path)
    assert meta["format"] == "musiclatent-checkpoint"
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["musiclatent_version"] == __version__
    assert meta["arch"] == "alt5"
    assert meta["config"] == {"strides": [3, 3, 4], "width": 8, "latent_channels": 3, "sample_rate": 22050}
    assert meta["sample_rate"] == 22050
    assert meta["epoch"] == 3 and meta["metrics"] == {"val_loss": 0.25}


def test_no_temporary_files_are_left(checkpoint):
    _, path = checkpoint
    assert sorted(p.name for p in path.parent.iterdir()) == ["alt5.safetensors"]


def test_expected_sha256_accepts_the_original(checkpoint):
    _, path = checkpoint
    load_checkpoint(path, expected_sha256=sha256_file(path))


def test_flipped_weight_byte_loads_but_sha_mismatch_is_detected(checkpoint):
    _, path = checkpoint
    original = sha256_file(path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # inside the last tensor's bytes, after the header
    path.write_bytes(bytes(data))
    load_checkpoint(path)  # still a well-formed file
    with pytest.raises(CheckpointError, match="differs from the expected") as info:
        load_checkpoint(path, expected_sha256=original)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("keep", [4, 200, -100])
def test_truncated_file_is_a_one_line_error(checkpoint, keep):
    _, path = checkpoint
    data = path.read_bytes()
    path.write_bytes(data[:keep] if keep > 0 else data[:keep])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nope.safetensors")


class _Exploit:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_malicious_pickle_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(marker))
    for name in ("model.safetensors", "model.pt", "model.state.pt"):
        (tmp_path / name).write_bytes(payload)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "model.pt")
    with pytest.raises(CheckpointError) as info:
        load_training_state(tmp_path / "model.state.pt")
    assert "unreadable training state" in str(info.value) and "\n" not in str(info.value)
    assert not marker.exists()
    pickle.loads(payload)  # the naive loader: proves the marker test can fail
    assert marker.exists()


def test_malicious_pickle_inside_torch_zip_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.state.pt"
    torch.save({"step": _Exploit(marker)}, path)  # torch.save pickles the object's __reduce__
    with pytest.raises(CheckpointError):
        load_training_state(path)
    assert not marker.exists()


def test_training_state_round_trip(tmp_path):
    state = {"epoch": 2, "optimizer": {"lr": torch.tensor(0.5)}, "rng": torch.get_rng_state()}
    save_training_state(tmp_path / "a.state.pt", state)
    back = load_training_state(tmp_path / "a.state.pt")
    assert back["epoch"] == 2 and torch.equal(back["rng"], state["rng"])


def test_unknown_architecture_is_a_clear_error(checkpoint):
    _, path = checkpoint
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, registry=Registry())
    message = str(info.value)
    assert "'alt5'" in message and "no installed plugin registers" in message and str(path) in message


def test_config_that_does_not_build_is_a_clear_error(checkpoint):
    _, path = checkpoint
    other = Registry()
    other.add(ArchitectureSpec(name="alt5", description="changed", factory="musiclatent.architectures.seed:Alt2"))
    with pytest.raises(CheckpointError, match="config does not build 'alt5'"):
        load_checkpoint(path, registry=other)


def test_weights_of_another_shape_are_refused(tmp_path):
    model = get_registry().architecture("alt5").build(width=8)
    path = save_checkpoint(tmp_path / "m.safetensors", model)
    other = Registry()
    spec = get_registry().architecture("alt5")
    other.add(ArchitectureSpec(name="alt5", description="x", factory=lambda **cfg: spec.build(**{**cfg, "width": 4})))
    with pytest.raises(CheckpointError, match="weights do not load"):
        load_checkpoint(path, registry=other)


def test_newer_format_is_refused(tmp_path):
    model = get_registry().architecture("alt5").build(width=8)
    path = save_checkpoint(tmp_path / "m.safetensors", model, format_version=FORMAT_VERSION + 1)
    with pytest.raises(CheckpointError, match="upgrade musiclatent"):
        load_checkpoint(path)
