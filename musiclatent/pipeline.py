"""Deprecated: the demo moved to ``musiclatent.demo`` (this module re-exports it for one cycle)."""

from __future__ import annotations

import warnings


def __getattr__(name: str):
    import musiclatent.demo as demo

    if name.startswith("__"):
        raise AttributeError(name)
    warnings.warn(f"musiclatent.pipeline.{name} moved to musiclatent.demo.{name}; musiclatent.pipeline goes in "
                  "the next release", DeprecationWarning, stacklevel=2)
    return getattr(demo, name)
