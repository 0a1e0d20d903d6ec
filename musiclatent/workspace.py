"""The workspace: one folder that remembers the corpus and holds runs, latents and analyses.

Layout::

    musiclatent-work/
      workspace.json            corpus root, labels CSV, sample rate, segment length
      manifest.parquet          the scanned corpus (tracks, splits, problems)
      cache/                    decoded-audio cache
      runs/<model>/             checkpoints, metrics, reconstructions, charts
      latents/<model>.parquet   latent tables
      analyses/<name>/          analysis outputs
      report/                   the HTML report

The root is ``--workspace``, else ``$MUSICLATENT_WORKSPACE``, else ``./musiclatent-work``.
Explicit paths given to a command always override what the workspace remembers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musiclatent.fileio import atomic_write_json, inside, safe_name

ENV_VAR = "MUSICLATENT_WORKSPACE"
DEFAULT_DIR = "musiclatent-work"


class WorkspaceError(Exception):
    pass


@dataclass
class Workspace:
    root: Path

    @classmethod
    def open(cls, root: str | os.PathLike | None = None) -> Workspace:
        root = root or os.environ.get(ENV_VAR) or DEFAULT_DIR
        return cls(Path(root).expanduser().resolve())

    # ------------------------------------------------------------------ settings
    @property
    def settings_path(self) -> Path:
        return self.root / "workspace.json"

    def settings(self) -> dict[str, Any]:
        try:
            return json.loads(self.settings_path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as exc:
            raise WorkspaceError(f"{self.settings_path}: unreadable ({exc}); delete it and scan again") from None

    def update(self, **values: Any) -> dict[str, Any]:
        settings = {**self.settings(), **{k: v for k, v in values.items() if v is not None}}
        atomic_write_json(self.settings_path, settings)
        return settings

    def corpus(self, override: str | os.PathLike | None = None) -> Path:
        """The corpus root: ``override`` if given, else the one the workspace remembers."""
        if override is not None:
            return Path(override).expanduser().resolve()
        remembered = self.settings().get("corpus")
        if not remembered:
            raise WorkspaceError(
                f"no corpus known in workspace {self.root}; pass --data PATH or run "
                "`musiclatent corpus scan PATH` (or `musiclatent demo`) first"
            )
        return Path(remembered)

    # ------------------------------------------------------------------ paths
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.parquet"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def run_dir(self, model: str) -> Path:
        return inside(self.root, "runs", safe_name(model))

    def best_checkpoint(self, model: str) -> Path:
        path = self.run_dir(model) / "best.safetensors"
        if not path.exists():
            raise WorkspaceError(
                f"no trained {model!r} in workspace {self.root} ({path} is missing); "
                f"run `musiclatent train --model {model}` or pass --checkpoint"
            )
        return path

    def latents_path(self, model: str) -> Path:
        return inside(self.root, "latents", safe_name(model) + ".parquet")

    def latest_table(self) -> Path:
        """The most recently written latent table in the workspace."""
        folder = self.root / "latents"
        tables = sorted(folder.glob("*.parquet"), key=lambda p: p.stat().st_mtime) if folder.exists() else []
        if not tables:
            raise WorkspaceError(
                f"no latent table in workspace {self.root}; run `musiclatent encode --model NAME` "
                "or pass --table"
            )
        return tables[-1]

    def analysis_dir(self, name: str) -> Path:
        return inside(self.root, "analyses", safe_name(name))

    @property
    def report_dir(self) -> Path:
        return self.root / "report"
