"""The layers of docs/architecture.md hold: the import-linter contracts in pyproject.toml pass."""

from __future__ import annotations

import ast
import io
import os
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: pip install import-linter (in the dev extra)"
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept():
    done = lint_imports(ROOT)
    assert done.returncode == 0, f"an import breaks a layer (docs/architecture.md):\n{done.stdout}{done.stderr}"
    assert "0 broken" in done.stdout and " kept" in done.stdout


def test_a_corpus_module_importing_the_workspace_breaks_the_contracts(tmp_path):
    shutil.copytree(ROOT / "musiclatent", tmp_path / "musiclatent",
                    ignore=shutil.ignore_patterns("__pycache__", "*.safetensors"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    segments = tmp_path / "musiclatent" / "corpus" / "segments.py"
    segments.write_text(segments.read_text() + "\n\ndef _ws():\n    from musiclatent.workspace import Workspace\n\n"
                        "    return Workspace\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert "musiclatent.corpus.segments -> musiclatent.workspace" in done.stdout
    assert "The corpus imports nothing above it" in done.stdout


def test_no_module_imports_a_private_name_of_another_package():
    """Private helpers stay private to their package: make them public in their own module first."""
    found = []
    for path in sorted((ROOT / "musiclatent").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        home = ".".join(module.split(".")[:2])
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("musiclatent."):
                other = ".".join(node.module.split(".")[:2])
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if other != home and private:
                    found.append(f"{module} imports {private} from {node.module}")
    assert not found, "\n".join(found)


def test_the_default_sample_rate_is_written_once():
    """22050 as a number appears only in musiclatent.corpus.rates (prose in docstrings may say it)."""
    found = []
    for path in sorted((ROOT / "musiclatent").rglob("*.py")):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        found += [f"{path.relative_to(ROOT)}:{t.start[0]}" for t in tokens
                  if t.type == tokenize.NUMBER and t.string.replace("_", "") == "22050"]
    assert found == ["musiclatent/corpus/rates.py:7"], found


def test_fileio_reaches_up_only_in_its_deprecation_shims():
    """The layers contract ignores ``fileio -> locks`` and ``fileio -> corpus.paths`` for the
    deprecated spellings; any other import of them in fileio would be an upward import it hides."""
    tree = ast.parse((ROOT / "musiclatent" / "fileio.py").read_text())
    enclosing = {}  # node -> the function it is in
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        for node in ast.walk(function):
            if node is not function:
                enclosing.setdefault(node, function.name)
    up = {"musiclatent.locks", "musiclatent.corpus.paths"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {f"{node.module}.{a.name}" for a in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            names = {a.name for a in node.names}
        else:
            continue
        if names & up:
            found.append((enclosing.get(node, "<module>"), sorted(names & up)))
    assert found == [("_locks", ["musiclatent.locks"]), ("_corpus_paths", ["musiclatent.corpus.paths"])], found
