"""``musiclatent.plugin_api`` is the one import surface for plugin authors: it exports everything the
example plugin and docs/plugins.md use, the example imports nothing else, and importing it is cheap."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import musiclatent.plugin_api as api

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "plugins" / "musiclatent-vq" / "musiclatent_vq"


def _musiclatent_imports(source: str, where: str) -> list[tuple[str, list[str], str]]:
    """``(module, names, where)`` of every import of a musiclatent module in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "musiclatent":
            found.append((node.module, [a.name for a in node.names], f"{where}:{node.lineno}"))
        elif isinstance(node, ast.Import):
            found += [(a.name, [], f"{where}:{node.lineno}") for a in node.names
                      if a.name.split(".")[0] == "musiclatent"]
    return found


def test_every_exported_name_resolves():
    for name in api.__all__:
        assert getattr(api, name) is not None, name
    assert api.check_analysis.__module__ == "musiclatent.testing.analyses"
    assert api.AudioAutoencoder.__module__ == "musiclatent.architectures.base"
    assert sorted(dir(api)) == sorted(api.__all__)


def test_an_unknown_name_is_an_attribute_error():
    try:
        api.not_a_name  # noqa: B018
    except AttributeError as exc:
        assert "not_a_name" in str(exc)
    else:
        raise AssertionError("plugin_api.not_a_name did not raise")


def test_the_example_plugin_imports_only_the_plugin_api():
    files = sorted(EXAMPLE.glob("*.py"))
    assert {p.name for p in files} >= {"__init__.py", "model.py", "tsne.py"}
    imports = [i for p in files for i in _musiclatent_imports(p.read_text(), p.name)]
    assert imports, "the example plugin imports nothing from musiclatent?"
    others = [f"{where}: {module}" for module, _, where in imports if module != "musiclatent.plugin_api"]
    assert not others, f"the example plugin imports outside musiclatent.plugin_api: {others}"
    missing = [f"{where}: {n}" for _, names, where in imports for n in names if n not in api.__all__]
    assert not missing, missing


def test_the_plugin_guide_imports_only_the_plugin_api():
    text = (ROOT / "docs" / "plugins.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    imports = [i for n, b in enumerate(blocks) for i in _musiclatent_imports(b, f"block {n}")]
    assert len(imports) >= 4
    others = [f"{where}: {module}" for module, _, where in imports if module != "musiclatent.plugin_api"]
    assert not others, f"docs/plugins.md imports outside musiclatent.plugin_api: {others}"
    missing = [f"{where}: {n}" for _, names, where in imports for n in names if n not in api.__all__]
    assert not missing, missing


def test_importing_it_stays_light():
    """A plugin's __init__ imports it while `musiclatent plugins` lists specs: no torch, numpy, pyarrow."""
    code = ("import sys, musiclatent.plugin_api as a; a.hookimpl; a.AnalysisSpec; "
            "print(sorted(m for m in ('torch', 'numpy', 'pyarrow', 'altair', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
