"""What a run keeps on disk between epochs: the metrics log, RNG states, the resumable state.

``last.state.pt`` is the single source of truth for ``--resume``: model weights, optimiser,
scheduler, the epoch just finished, the metrics history, the best validation so far and the RNG
states of torch, numpy and python — one atomically written file, so a kill at any moment leaves
either the previous epoch's state or the new one, never a mix. It holds only tensors and plain
containers and is read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from musiclatent.fileio import atomic_write_text, naming

STATE_VERSION = 1


def rng_state() -> dict[str, Any]:
    """RNG states of torch (CPU and CUDA), numpy and python as weights-only-loadable values."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "python": {"version": py_state[0], "internal": list(py_state[1]), "gauss": py_state[2]},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what ``rng_state`` returned."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator that orders epoch ``epoch``'s data: depends only on ``(seed, epoch)``."""
    return torch.Generator().manual_seed(int(seed) * 100_003 + int(epoch))


class MetricsLog:
    """``metrics.jsonl``: one JSON object per finished epoch, appended and fsynced."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def append(self, row: dict[str, Any]) -> None:
        with naming(self.path):  # fsync's error names no file: name the log
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, sort_keys=True, default=float) + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def rewrite(self, rows: list[dict[str, Any]]) -> None:
        """Replace the file with ``rows`` (on resume: the history up to the resumed epoch)."""
        atomic_write_text(self.path, "".join(json.dumps(r, sort_keys=True, default=float) + "\n" for r in rows))

    def read(self) -> list[dict[str, Any]]:
        """The rows; a torn last line (a kill mid-write) is ignored."""
        if not self.path.exists():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows


def plain(value: Any) -> Any:
    """JSON-able copy of ``value`` (tuples to lists, numpy scalars to Python)."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
