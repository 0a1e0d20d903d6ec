"""Which accelerator runs the models: ``select_device`` (``--device``), ``available_devices``,
``release_memory``, and ``DeviceError`` for a device this machine does not have."""

from __future__ import annotations

import torch

from musiclatent.errors import MusiclatentError


class DeviceError(MusiclatentError, ValueError):
    """A ``--device`` that is not a device name, or not present on this machine."""


def available_devices() -> list[str]:
    """The device names that work here: ``cpu``, then ``cuda`` (and ``cuda:N`` with several GPUs), ``mps``."""
    names = ["cpu"]
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        names += ["cuda"] + ([f"cuda:{i}" for i in range(count)] if count > 1 else [])
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def select_device(name: str | torch.device = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; any other name must be present on this machine
    (else ``DeviceError``, one line naming the devices that are)."""
    if isinstance(name, torch.device):
        name = str(name)
    text = str(name).strip().lower()
    available = available_devices()
    if text == "auto":
        return torch.device(next((d for d in ("cuda", "mps") if d in available), "cpu"))
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        device = None
    ok = device is not None and (
        device.type == "cpu"
        or (device.type == "cuda" and "cuda" in available and (device.index or 0) < torch.cuda.device_count())
        or (device.type == "mps" and "mps" in available))
    if not ok:
        raise DeviceError(f"device {str(name)!r} is not available on this machine; available: auto, "
                          + ", ".join(available))
    return device


def release_memory() -> None:
    """Free cached accelerator memory and run the garbage collector (the seed did this between runs)."""
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        mps.empty_cache()
