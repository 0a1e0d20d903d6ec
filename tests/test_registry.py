"""The plugin registry: fake plugins, duplicates, broken plugins, entry points, the CLI listing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from musiclatent import __version__
from musiclatent.hookspecs import hookimpl
from musiclatent.registry import AnalysisSpec, ArchitectureSpec, RegistryError

SEED = ["alt1", "alt2", "alt3", "alt4", "alt5"]


def _arch(name, **kw):
    return ArchitectureSpec(name=name, description=f"{name} model", factory="musiclatent.architectures.seed:Alt5",
                            defaults={"width": 4}, **kw)


class GoodPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(_arch("fake_good"))

    @hookimpl
    def register_analyses(self, register):
        register(AnalysisSpec(name="fake_analysis", description="x", run="builtins:print"))


class ClashPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(_arch("alt5"))


class RaisingPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(_arch("fake_half"))
        raise RuntimeError("boom in hook")


class BadSpecPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(_arch("bad name!"))


class WrongKindPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(AnalysisSpec(name="not_an_arch", description="x", run="builtins:print"))


class NoArgsPlugin:
    calls = 0

    @hookimpl
    def register_analyses(self):  # pluggy allows a subset of the hook's arguments
        type(self).calls += 1


@pytest.fixture
def plugins(fresh_plugins):
    return fresh_plugins


def _with(plugins, *pairs):
    """Register (plugin, name) pairs; return the registry. Caller unregisters in finally."""
    for plugin, name in pairs:
        plugins.register_plugin(plugin, name=name)
    return plugins.get_registry()


def test_builtin_seed_models_are_registered(plugins):
    registry = plugins.get_registry()
    for name in SEED:
        spec = registry.architecture(name)
        assert spec.plugin == "musiclatent.default_plugins.seed_architectures"
        assert spec.distribution == f"musiclatent {__version__}"


def test_fake_plugin_registers_and_unregisters(plugins):
    try:
        registry = _with(plugins, (GoodPlugin(), "good"))
        spec = registry.architecture("fake_good")
        assert spec.plugin == "good" and spec.distribution == "registered at run time"
        assert registry.analysis("fake_analysis").plugin == "good"
        assert spec.build().latent_channels == 3
    finally:
        plugins.unregister_plugin("good")
    assert "fake_good" not in plugins.get_registry().architectures


def test_duplicate_name_names_both_plugins(plugins):
    try:
        with pytest.raises(RegistryError) as info:
            _with(plugins, (ClashPlugin(), "clash"))
        message = str(info.value)
        assert "'alt5'" in message and "registered twice" in message
        assert "musiclatent.default_plugins.seed_architectures" in message and "'clash'" in message
    finally:
        plugins.unregister_plugin("clash")
    assert plugins.get_registry().architecture("alt5").plugin.endswith("seed_architectures")


@pytest.mark.parametrize("plugin, expected", [
    (RaisingPlugin(), "boom in hook"),
    (BadSpecPlugin(), "invalid name"),
    (WrongKindPlugin(), "must register ArchitectureSpec"),
])
def test_broken_plugin_is_listed_and_others_keep_working(plugins, plugin, expected):
    try:
        registry = _with(plugins, (plugin, "broken_one"), (GoodPlugin(), "good"))
        assert "broken_one" in registry.broken and expected in registry.broken["broken_one"]
        assert "fake_good" in registry.architectures
        assert "fake_half" not in registry.architectures  # nothing half-registered
        assert set(SEED) <= set(registry.architectures)
    finally:
        plugins.unregister_plugin("broken_one")
        plugins.unregister_plugin("good")


def test_hookimpl_with_fewer_arguments(plugins):
    NoArgsPlugin.calls = 0
    try:
        registry = _with(plugins, (NoArgsPlugin(), "noargs"))
        assert NoArgsPlugin.calls == 1  # called once, without the argument it did not ask for
        assert "noargs" not in registry.broken
        assert "pca" in registry.analyses  # the other plugins' registrations are unaffected
    finally:
        plugins.unregister_plugin("noargs")


def test_unknown_model_error_lists_registered(plugins):
    with pytest.raises(RegistryError, match="unknown model 'nope'; registered models: .*alt1"):
        plugins.get_registry().architecture("nope")


def test_plugins_json_lists_seed_models(plugins):
    from musiclatent.cli import cli

    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = {r["name"]: r for r in data["plugins"] if r["kind"] == "architecture"}
    for name in SEED:
        assert rows[name]["distribution"] == "musiclatent 0.1.0"
        assert rows[name]["plugin"] == "musiclatent.default_plugins.seed_architectures"
    assert "Seed Net5 `autoencoder_alt5`" in rows["alt5"]["description"]
    text = CliRunner().invoke(cli, ["plugins"])
    assert text.exit_code == 0 and "alt3" in text.output and "Architectures" in text.output


def _run(code, env_extra=None, pythonpath=None):
    env = {k: v for k, v in os.environ.items() if k not in ("MUSICLATENT_LOAD_PLUGINS", "PYTHONPATH")}
    env.update(env_extra or {})
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_listing_plugins_does_not_import_torch_or_umap():
    code = textwrap.dedent("""
        import sys
        from musiclatent.cli import main
        for argv in (["--help"], ["plugins"], ["plugins", "--json"], ["models", "--help"]):
            try:
                main(argv)
            except SystemExit as exc:
                assert exc.code in (0, None), (argv, exc.code)
        print(sorted(m for m in ("torch", "umap", "torchaudio", "sklearn") if m in sys.modules))
    """)
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_trace_hooks_prints_every_hook_call():
    code = "from musiclatent.plugins import get_registry; get_registry()"
    proc = _run(code, env_extra={"MUSICLATENT_TRACE_HOOKS": "1"})
    assert proc.returncode == 0, proc.stderr
    for hook in ("register_architectures", "register_analyses"):
        assert hook in proc.stderr, proc.stderr[-2000:]
    quiet = _run(code)
    assert "register_architectures" not in quiet.stderr


def _throwaway_distribution(site):
    """A fake installed distribution ``musiclatent-hello 1.2.3`` with three entry points."""
    site.mkdir()
    (site / "hello_plugin.py").write_text(textwrap.dedent("""
        from musiclatent.hookspecs import hookimpl
        from musiclatent.registry import ArchitectureSpec

        @hookimpl
        def register_architectures(register):
            register(ArchitectureSpec(name="hello", description="hello model",
                                      factory="musiclatent.architectures.seed:Alt5"))
    """))
    (site / "broken_plugin.py").write_text("raise ImportError('hello_dependency is not installed')\n")
    (site / "typo_plugin.py").write_text(textwrap.dedent("""
        from musiclatent.hookspecs import hookimpl

        @hookimpl
        def register_architecture(register):  # no such hook
            pass
    """))
    info = site / "musiclatent_hello-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: musiclatent-hello\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(
        "[musiclatent]\nhello = hello_plugin\nbroken = broken_plugin\ntypo = typo_plugin\n")
    return site


LIST_JSON = textwrap.dedent("""
    from musiclatent.cli import main
    try:
        main(["plugins", "--json"])
    except SystemExit as exc:
        assert exc.code in (0, None)
""")


def test_entry_point_distribution_is_listed_and_broken_ones_isolated(tmp_path):
    site = _throwaway_distribution(tmp_path / "site")
    proc = _run(LIST_JSON, pythonpath=site)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = {r["name"]: r for r in data["plugins"]}
    assert rows["hello"]["distribution"] == "musiclatent-hello 1.2.3"
    assert rows["hello"]["plugin"] == "hello"
    assert "ImportError" in data["broken"]["broken"] and "hello_dependency" in data["broken"]["broken"]
    assert data["broken"]["broken"].startswith("musiclatent-hello 1.2.3")
    assert "register_architecture" in data["broken"]["typo"]
    assert all(name in rows for name in SEED)


@pytest.mark.parametrize("allow, listed, broken", [
    ("hello", {"hello"}, set()),
    ("broken, hello", {"hello"}, {"broken"}),
    ("", set(), set()),
])
def test_load_plugins_env_var_restricts_entry_points(tmp_path, allow, listed, broken):
    site = _throwaway_distribution(tmp_path / "site")
    proc = _run(LIST_JSON, env_extra={"MUSICLATENT_LOAD_PLUGINS": allow}, pythonpath=site)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    names = {r["name"] for r in data["plugins"]}
    assert ("hello" in names) == ("hello" in listed)
    assert set(data["broken"]) & {"broken", "typo"} == broken
    assert set(SEED) <= names  # built-ins always load
