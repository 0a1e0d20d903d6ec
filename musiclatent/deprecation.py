"""Old import paths kept for one deprecation cycle: a shim module's ``__getattr__`` that warns.

A module that moved leaves a thin shim at its old path::

    def _new():
        from musiclatent.analyses import runner

        return runner

    __getattr__ = moved(__name__, _new)

``from old.path import name`` then returns ``new.path.name`` and emits a ``DeprecationWarning``
naming the new path, attributed to the importing line. The import stays explicit (inside
``_new``), so the import-linter contracts see where the shim points.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import ModuleType


def moved(old: str, new: Callable[[], ModuleType], names: tuple[str, ...] | None = None,
          renamed: dict[str, str] | None = None, stacklevel: int = 2,
          stays: bool = False) -> Callable[[str], object]:
    """A module ``__getattr__`` for the shim ``old``: public names (or only ``names``) come from
    the module ``new()`` returns; ``renamed`` maps an old name to its new one. ``stacklevel``:
    one more for each function between the module's ``__getattr__`` and this one. ``stays``:
    ``old`` itself stays (only these names left it), so the warning says the spelling goes."""
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


__all__ = ["moved"]
