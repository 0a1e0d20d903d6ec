"""Every hook has a documented signature and a test (as datasette does)."""

import inspect
import re
import sys
from pathlib import Path

import pytest

from musiclatent import hookspecs
from musiclatent.hookspecs import hookimpl
from musiclatent.registry import AnalysisSpec, ArchitectureSpec, Option

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(
    name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(fn, "musiclatent_spec")
)


def test_there_are_hooks():
    assert HOOKS == ["register_analyses", "register_architectures"]


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook):
    doc = (ROOT / "docs" / "plugins.md").read_text()
    signature = str(inspect.signature(getattr(hookspecs, hook)))
    assert f'<a id="{hook}"></a>' in doc, f"docs/plugins.md has no anchor for {hook}"
    assert re.search(rf"^### `{hook}{re.escape(signature)}`$", doc, re.M), (
        f"docs/plugins.md has no heading '### `{hook}{signature}`'"
    )


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook, fresh_plugins):
    """``test_hook_<hook>`` exists and really exercises the hook: while it runs, pluggy's hook
    caller calls ``hook`` on a plugin the test registered (a test that registers nothing, or a
    hook called around pluggy, which tracing cannot see, fails here)."""
    test = getattr(sys.modules[__name__], f"test_hook_{hook}", None)
    assert test is not None, f"no test_hook_{hook} in {__file__}"
    pm = fresh_plugins.get_plugin_manager()
    builtin = {name for name, _ in pm.list_name_plugin()}
    called: list[tuple[str, str]] = []
    undo = pm.add_hookcall_monitoring(
        lambda name, impls, kwargs: called.extend((name, i.plugin_name) for i in impls), lambda *a: None)
    try:
        test(fresh_plugins)
    finally:
        undo()
    assert {p for name, p in called if name == hook} - builtin, (
        f"test_hook_{hook} never had pluggy call {hook} on a plugin it registered; called: {sorted(set(called))}")


def test_building_the_registry_calls_every_hook_through_pluggy(fresh_plugins):
    """Hooks go through pluggy's hook caller (so tracing and monitoring see them), each one once per plugin."""
    pm = fresh_plugins.get_plugin_manager()
    called: list[tuple[str, str]] = []
    undo = pm.add_hookcall_monitoring(
        lambda name, impls, kwargs: called.extend((name, i.plugin_name) for i in impls), lambda *a: None)
    try:
        fresh_plugins.get_registry()
    finally:
        undo()
    assert sorted({name for name, _ in called}) == HOOKS
    for hook in HOOKS:
        impls = [i.plugin_name for i in getattr(pm.hook, hook).get_hookimpls()]
        assert sorted(p for name, p in called if name == hook) == sorted(impls)


class _ArchPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(ArchitectureSpec(name="hooktest_arch", description="test architecture",
                                  factory="musiclatent.architectures.base:AudioAutoencoder"))


class _AnalysisPlugin:
    @hookimpl
    def register_analyses(self, register):
        register(AnalysisSpec(name="hooktest_analysis", description="test analysis",
                              run="builtins:len", options=(Option(name="k", type="int", default=3),)))


def test_hook_register_architectures(fresh_plugins):
    fresh_plugins.register_plugin(_ArchPlugin(), name="hooktest-arch")
    spec = fresh_plugins.get_registry().architecture("hooktest_arch")
    assert spec.plugin == "hooktest-arch"
    assert spec.distribution == "registered at run time"
    assert "alt5" in fresh_plugins.get_registry().architectures  # built-ins still there


def test_hook_register_analyses(fresh_plugins):
    fresh_plugins.register_plugin(_AnalysisPlugin(), name="hooktest-analysis")
    spec = fresh_plugins.get_registry().analysis("hooktest_analysis")
    assert spec.plugin == "hooktest-analysis"
    assert spec.options[0].name == "k"
    assert spec.load() is len
