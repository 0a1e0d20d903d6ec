"""The workspace: one folder that remembers the corpus and holds runs, latents and analyses.

Layout::

    musiclatent-work/
      workspace.json            corpus root, labels CSV, sample rate, segment length
      manifest.parquet          the scanned corpus (tracks, splits, problems)
      cache/                    decoded-audio cache
      runs/<model>/run-NNN/     one folder per `train` run: checkpoints, metrics, reconstructions, charts
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
from typing import TYPE_CHECKING, Any

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.errors import MusiclatentError
from musiclatent.fileio import atomic_write_json, inside, safe_name

if TYPE_CHECKING:
    from musiclatent.corpus.manifest import Manifest

ENV_VAR = "MUSICLATENT_WORKSPACE"
RUN_PREFIX = "run-"
RUN_MARKERS = ("run.json", "best.safetensors", "last.safetensors", "last.state.pt")
DEFAULT_DIR = "musiclatent-work"


class WorkspaceError(MusiclatentError):
    pass


def _run_number(name: str) -> int | None:
    digits = name[len(RUN_PREFIX):] if name.startswith(RUN_PREFIX) else ""
    return int(digits) if digits.isdigit() else None


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

    def model_runs_dir(self, model: str) -> Path:
        """``runs/<model>``: the folder holding that model's numbered run folders."""
        return inside(self.root, "runs", safe_name(model))

    def runs(self, model: str) -> list[Path]:
        """The run folders of ``model``, oldest first: ``runs/<model>/run-NNN`` by number, after
        ``runs/<model>`` itself when it holds a run of the older one-folder-per-model layout."""
        folder = self.model_runs_dir(model)
        if not folder.is_dir():
            return []
        numbered = sorted((p for p in folder.iterdir() if p.is_dir() and _run_number(p.name) is not None),
                          key=lambda p: _run_number(p.name))
        legacy = [folder] if any((folder / name).exists() for name in RUN_MARKERS) else []
        return legacy + numbered

    def latest_run(self, model: str) -> Path | None:
        """The newest run folder of ``model`` (``None`` when it was never trained here)."""
        runs = self.runs(model)
        return runs[-1] if runs else None

    def new_run_dir(self, model: str) -> Path:
        """Create and return the next numbered run folder ``runs/<model>/run-NNN`` (never an existing one,
        also when two trainings start at once)."""
        folder = self.model_runs_dir(model)
        folder.mkdir(parents=True, exist_ok=True)
        number = max((_run_number(p.name) or 0 for p in folder.iterdir()), default=0) + 1
        while True:
            path = folder / f"{RUN_PREFIX}{number:03d}"
            try:
                path.mkdir()
                return path
            except FileExistsError:
                number += 1

    def run_dir(self, model: str) -> Path:
        """The newest run folder of ``model``, else ``runs/<model>`` (where its runs will go)."""
        return self.latest_run(model) or self.model_runs_dir(model)

    def best_checkpoint(self, model: str) -> Path:
        """``best.safetensors`` of the newest run of ``model`` that has one."""
        for run in reversed(self.runs(model)):
            if (run / "best.safetensors").is_file():
                return run / "best.safetensors"
        raise WorkspaceError(
            f"no trained {model!r} in workspace {self.root} (no run under {self.model_runs_dir(model)} "
            f"has a best.safetensors); run `musiclatent train --model {model}` or pass --checkpoint"
        )

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


def load_manifest(
    workspace: Workspace,
    data: str | os.PathLike | None = None,
    labels_csv: str | os.PathLike | None = None,
    sample_rate: int | None = None,
    quick: bool = False,
    progress: bool = True,
) -> Manifest:
    """The manifest train/encode use (the workspace remembers the corpus; the corpus knows no workspace).

    With ``data``: reuse the workspace's saved manifest when it was scanned from the same path
    (and labels CSV; without ``labels_csv``, the CSV the workspace remembers for that same corpus
    is kept, so ``train --data X`` after ``corpus scan X --labels CSV`` keeps the CSV's labels
    and splits) and no file changed since (same names, sizes, mtimes); otherwise scan
    ``data``, save the manifest into the workspace and remember the corpus there. Without
    ``data``: load the workspace manifest (scanning the remembered corpus if it is missing).
    """
    from musiclatent.corpus import manifest as corpus_manifest
    from musiclatent.corpus.discover import discover
    from musiclatent.corpus.errors import CorpusError

    settings = workspace.settings()
    rate = int(sample_rate or settings.get("sample_rate") or DEFAULT_SAMPLE_RATE)
    seed = int(settings.get("split_seed") or 0)
    saved = None
    if workspace.manifest_path.exists():
        try:
            saved = corpus_manifest.Manifest.load(workspace.manifest_path)
        except CorpusError:
            saved = None
    if data is None:
        if saved is not None and (sample_rate is None or saved.sample_rate == rate):
            return saved
        data = workspace.corpus()  # raises a clear WorkspaceError when nothing is remembered
        labels_csv = labels_csv or settings.get("labels_csv")
    source = Path(data).expanduser().resolve()
    if labels_csv is None and settings.get("labels_csv") and settings.get("corpus") == str(source):
        labels_csv = settings["labels_csv"]  # the CSV this corpus was scanned with (labels, splits)
    csv_path = str(Path(labels_csv).resolve()) if labels_csv else None
    if (saved is not None and saved.meta.get("source") == str(source)
            and saved.meta.get("labels_csv") == csv_path and saved.sample_rate == rate
            and saved.seed == seed):
        if saved.meta.get("fingerprint") == corpus_manifest.fingerprint(discover(source, labels_csv), labels_csv):
            return saved
    manifest = corpus_manifest.scan_corpus(source, labels_csv, sample_rate=rate, quick=quick, seed=seed, progress=progress)
    manifest.save(workspace.manifest_path)
    workspace.update(corpus=str(source), labels_csv=csv_path, labels=manifest.labels, sample_rate=rate)
    return manifest
