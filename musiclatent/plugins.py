"""The plugin manager: built-in plugins and third-party entry points, registered the same way.

Third-party distributions declare ``[project.entry-points.musiclatent]``; built-ins are the
modules in ``DEFAULT_PLUGINS``. Both go through ``pm.register``. Environment variables:

- ``MUSICLATENT_LOAD_PLUGINS``: comma-separated entry-point names; only those third-party
  plugins load (empty string: none). Built-ins always load.
- ``MUSICLATENT_TRACE_HOOKS=1``: print every hook call to stderr.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from musiclatent import __version__, hookspecs
from musiclatent.registry import AnalysisSpec, ArchitectureSpec, Registry, RegistryError

ENTRY_POINT_GROUP = "musiclatent"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "musiclatent.default_plugins.seed_architectures",
    "musiclatent.default_plugins.modern_architectures",
    "musiclatent.default_plugins.analyses",
)

@dataclass
class _State:
    """The process-wide plugin state (``reset()`` forgets it)."""

    pm: pluggy.PluginManager | None = None
    registry: Registry | None = None
    dists: dict[str, str] = field(default_factory=dict)  # plugin name -> "distribution version"
    broken_loading: dict[str, str] = field(default_factory=dict)  # entry point -> why it did not load


_state = _State()


def _dist_of(plugin_name: str) -> str:
    return _state.dists.get(plugin_name, "")


def get_plugin_manager(entry_points: bool = True) -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use."""
    if _state.pm is None:
        _state.pm = _build(entry_points)
    return _state.pm


def _build(entry_points: bool) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    dists: dict[str, str] = {}
    broken: dict[str, str] = {}
    if os.environ.get("MUSICLATENT_TRACE_HOOKS"):
        pm.trace.root.setwriter(lambda s: print(s, end="", file=sys.stderr))
        pm.enable_tracing()
    if entry_points:
        allowed = os.environ.get("MUSICLATENT_LOAD_PLUGINS")
        allow = None if allowed is None else {p.strip() for p in allowed.split(",") if p.strip()}
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if allow is not None and ep.name not in allow:
                continue
            dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "unknown distribution"
            try:
                plugin = ep.load()
                if pm.is_registered(plugin):
                    continue
                pm.register(plugin, name=ep.name)
                pm.check_pending()  # e.g. a hookimpl for a hook that does not exist
            except Exception as exc:  # a broken plugin must not take the others down
                if pm.has_plugin(ep.name):
                    pm.unregister(name=ep.name)
                broken[ep.name] = f"{dist}: {type(exc).__name__}: {exc}"
                continue
            dists[ep.name] = dist
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        dists[module_name] = f"musiclatent {__version__}"
    pm.check_pending()
    _state.dists = dists
    _state.broken_loading = broken
    return pm


def collect(pm: pluggy.PluginManager | None = None) -> Registry:
    """Call every plugin's ``register_*`` hooks, one plugin at a time.

    One plugin failing inside a hook (or registering a bad spec) is recorded in
    ``Registry.broken`` with its name and the error; the other plugins keep working.
    A duplicate name between two plugins is an error naming both providers.
    """
    pm = pm or get_plugin_manager()
    registry = Registry(broken=dict(_state.broken_loading))
    for hook_name, cls in (
        ("register_architectures", ArchitectureSpec),
        ("register_analyses", AnalysisSpec),
    ):
        hook = getattr(pm.hook, hook_name)
        impls = hook.get_hookimpls()
        for impl in reversed(impls):
            plugin_name = impl.plugin_name
            dist = _dist_of(plugin_name) or "unknown distribution"
            pending: list = []

            def register(spec, _pending=pending, _cls=cls, _hook=hook_name):
                if not isinstance(spec, _cls):
                    raise RegistryError(
                        f"{_hook} must register {_cls.__name__} objects, got {type(spec).__name__}"
                    )
                _pending.append(spec)

            # one plugin at a time through pluggy's own hook caller (so tracing, monitoring and
            # argument subsets work as pluggy documents them), the others left out of the call
            others = [pm.get_plugin(i.plugin_name) for i in impls if i.plugin_name != plugin_name]
            try:
                pm.subset_hook_caller(hook_name, remove_plugins=others)(register=register)
                stamped = [type(spec)(**{**spec.__dict__, "plugin": plugin_name, "distribution": dist})
                           for spec in pending]
                for spec in stamped:
                    registry.validate(spec)
            except Exception as exc:
                registry.broken[plugin_name] = f"{dist}: {hook_name} raised {type(exc).__name__}: {exc}"
                continue
            for spec in stamped:
                registry.add(spec)  # a duplicate name between plugins is a loud error
    return registry


def get_registry() -> Registry:
    """The registry of every loaded plugin's specs (cached for the process)."""
    if _state.registry is None:
        _state.registry = collect()
    return _state.registry


def reset() -> None:
    """Forget the plugin manager and registry (tests register fake plugins after this)."""
    global _state
    _state = _State()


def register_plugin(plugin, name: str | None = None) -> None:
    """Register a plugin object at run time (tests, notebooks) and rebuild the registry."""
    pm = get_plugin_manager()
    pm.register(plugin, name=name)
    _state.dists[name or pm.get_name(plugin)] = "registered at run time"
    _state.registry = None


def unregister_plugin(name: str) -> None:
    pm = get_plugin_manager()
    pm.unregister(name=name)
    _state.registry = None


__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "collect",
    "get_plugin_manager",
    "get_registry",
    "register_plugin",
    "reset",
    "unregister_plugin",
]
