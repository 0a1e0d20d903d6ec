"""Old import paths kept for one deprecation cycle: a shim module's ``__getattr__`` that warns.

A module that moved leaves a thin shim at its old path::

    def _new():
        from musiclatent.analyses import runner

        return runner

    __getattr__ = moved(__name__, _new)

``from old.path import name`` then returns ``new.path.name`` and emits a ``DeprecationWarning``
naming the new path, attributed to the importing line. The import stays explicit (inside
``_new``), so the import-linter contracts see where the shim points.

A package whose modules moved without leaving files behind (so that git sees pure renames and
carries edits made on the old paths over to the new ones) declares them with ``moved_modules``
in its ``__init__``: ``import old.package.module`` and ``from old.package.module import name``
keep working through a shim module object registered in ``sys.modules``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from types import ModuleType


def moved(old: str, new: Callable[[], ModuleType], names: tuple[str, ...] | None = None,
          renamed: dict[str, str] | None = None, stacklevel: int = 2,
          stays: bool = False) -> Callable[[str], object]:
    """A module ``__getattr__`` for the shim ``old``: public names (or only ``names``) come from
    the module ``new()`` returns; ``renamed`` maps an old name to its new one. ``stacklevel``:
    one more for each function between the module's ``__getattr__`` and this one (3 when another
    ``__getattr__`` calls this one). ``stays``: ``old`` itself stays (only these names left it),
    so the warning says the spelling goes."""
    renamed = renamed or {}

    def __getattr__(name: str) -> object:
        if name not in renamed and (name.startswith("_") or (names is not None and name not in names)):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        module = new()
        target = renamed.get(name, name)
        try:
            value = getattr(module, target)
        except AttributeError:
            raise AttributeError(f"module {old!r} has no attribute {name!r}") from None
        gone = f"{old}.{name}" if stays else old
        warnings.warn(f"{old}.{name} moved to {module.__name__}.{target}; import it from there "
                      f"({gone} is removed in the next minor release)", DeprecationWarning, stacklevel=stacklevel)
        return value

    return __getattr__


def moved_apart(old: str, parts: dict[Callable[[], ModuleType], tuple[str, ...]]) -> Callable[[str], object]:
    """A module ``__getattr__`` for a shim whose names went to several modules: ``parts`` maps
    each ``new`` (as for ``moved``) to the names that went there."""
    getters = {name: moved(old, new, names=names, stacklevel=3) for new, names in parts.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in getters:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        return getters[name](name)

    return __getattr__


def moved_modules(package: str, modules: dict[str, Callable[[], ModuleType]]) -> None:
    """Register a shim module ``package.name`` for each moved module (``name -> new``), each
    with ``moved``'s ``__getattr__``; call it from the old package's ``__init__``."""
    parent = sys.modules[package]
    for name, new in modules.items():
        old = f"{package}.{name}"
        shim = sys.modules.get(old)
        if shim is None:
            shim = ModuleType(old, f"Deprecated: moved, re-exported with a DeprecationWarning "
                                   f"({package}'s docstring names the new home).")
            shim.__getattr__ = moved(old, new)  # type: ignore[method-assign]
            sys.modules[old] = shim
        setattr(parent, name, shim)


__all__ = ["moved", "moved_apart", "moved_modules"]
