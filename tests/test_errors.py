"""One error base: every musiclatent exception is a ``MusiclatentError``, which the CLI prints as
one line; any other exception is a bug and keeps its traceback."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import musiclatent
import musiclatent.plugins
from musiclatent.cli import cli
from musiclatent.errors import MusiclatentError
from musiclatent.hookspecs import hookimpl
from musiclatent.registry import AnalysisSpec


def _exception_classes() -> dict[str, type]:
    """Every public exception class defined in a musiclatent module, by qualified name."""
    found = {}
    for info in pkgutil.walk_packages(musiclatent.__path__, "musiclatent."):
        module = importlib.import_module(info.name)  # a module that fails to import fails the test
        for name, obj in vars(module).items():
            if (isinstance(obj, type) and issubclass(obj, BaseException) and not name.startswith("_")
                    and obj.__module__ == module.__name__):
                found[f"{module.__name__}.{name}"] = obj
    return found


def test_every_exception_class_has_the_one_base():
    classes = _exception_classes()
    assert "musiclatent.corpus.errors.CorpusError" in classes and "musiclatent.locks.BusyError" in classes
    assert len(classes) >= 21, sorted(classes)
    orphans = sorted(name for name, cls in classes.items() if not issubclass(cls, MusiclatentError))
    assert not orphans, f"derive these from musiclatent.errors.MusiclatentError: {orphans}"


def test_builtin_bases_are_kept_for_existing_callers():
    from musiclatent.corpus.paths import CorpusPathError
    from musiclatent.devices import DeviceError
    from musiclatent.exporting import ExportError
    from musiclatent.losses import LossSpecError
    from musiclatent.testing import ConformanceError

    for cls in (ExportError, CorpusPathError, LossSpecError, DeviceError):
        assert issubclass(cls, ValueError), cls
    assert issubclass(ConformanceError, AssertionError)


class PluginProblem(MusiclatentError):
    """What a plugin raises for a user error."""


def _fail_with(monkeypatch, exc: BaseException) -> None:
    def get_registry():
        raise exc

    monkeypatch.setattr(musiclatent.plugins, "get_registry", get_registry)


def test_a_user_error_in_a_command_is_one_line(monkeypatch):
    _fail_with(monkeypatch, PluginProblem("models.toml: no such section; add [models] and retry"))
    res = CliRunner().invoke(cli, ["plugins"])
    assert res.exit_code == 1
    assert res.output == "Error: models.toml: no such section; add [models] and retry\n"


def test_a_user_error_in_the_group_callback_is_one_line(monkeypatch, tmp_path):
    from musiclatent.workspace import Workspace, WorkspaceError

    def refuse(cls, root=None):
        raise WorkspaceError(f"{root}: not a workspace")

    monkeypatch.setattr(Workspace, "open", classmethod(refuse))
    res = CliRunner().invoke(cli, ["-w", str(tmp_path), "report"])
    assert res.exit_code == 1 and res.output == f"Error: {tmp_path}: not a workspace\n"


def test_a_bug_keeps_its_traceback():
    code = ("import musiclatent.plugins as p\n"
            "def boom():\n    raise RuntimeError('a bug in a plugin')\n"
            "p.get_registry = boom\n"
            "from musiclatent.cli import main\nmain(['plugins'])\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.rstrip().endswith("RuntimeError: a bug in a plugin")
    assert not any(line.startswith("Error:") for line in proc.stderr.splitlines())


def _picky_run(ctx):
    raise PluginProblem("--codebook 500: must be a power of two")


class PickyPlugin:
    @hookimpl
    def register_analyses(self, register):
        register(AnalysisSpec(name="picky", description="refuses its input", run=_picky_run))


def test_an_analysis_user_error_is_passed_on_not_blamed_on_the_plugin(fresh_plugins, tmp_path):
    from musiclatent.analyses.runner import run_analysis
    from musiclatent.testing import write_synthetic_table

    fresh_plugins.register_plugin(PickyPlugin(), name="picky-plugin")
    table = write_synthetic_table(tmp_path / "t.parquet", n_tracks=4)
    with pytest.raises(PluginProblem, match=r"^--codebook 500: must be a power of two$"):
        run_analysis("picky", table=table, out_dir=tmp_path / "o")
