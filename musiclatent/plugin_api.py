"""Everything a plugin author imports, from one module.

An architecture or analysis plugin needs nothing else from musiclatent::

    from musiclatent.plugin_api import hookimpl, ArchitectureSpec, AnalysisSpec, Option

=========================  =====================================================================
what                       names
=========================  =====================================================================
hooks                      ``hookimpl``
specs                      ``ArchitectureSpec``, ``AnalysisSpec``, ``Option``, ``ReportSection``
architectures              ``AudioAutoencoder`` (the base class), ``pad_to_multiple``,
                           ``fit_length``, ``DEFAULT_SAMPLE_RATE``
analyses                   ``AnalysisContext`` (what ``run(ctx, **options)`` receives),
                           ``AnalysisResult`` (what it returns), ``alt`` (Altair with the shared
                           theme), ``LatentTable`` (``table.track_matrix(pooling)``),
                           ``pool_track``, ``POOLINGS``
errors                     ``MusiclatentError`` (base of every error the user can fix),
                           ``AnalysisError``, ``RegistryError``
testing                    ``check_architecture``, ``check_analysis``, ``ConformanceError``,
                           ``write_synthetic_table``, ``tiny_model_table``, ``register_tiny_codec``
=========================  =====================================================================

Importing this module is cheap (no torch, numpy, pyarrow or Altair): the names that need them are
imported on first use, so a plugin's ``__init__`` that registers specs keeps ``musiclatent plugins``
fast. The modules these names live in may move; this module's names stay.
"""

from __future__ import annotations

from musiclatent.analyses.base import AnalysisContext, AnalysisError, AnalysisResult
from musiclatent.charts import alt
from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.errors import MusiclatentError
from musiclatent.hookspecs import hookimpl
from musiclatent.registry import (
    AnalysisSpec,
    ArchitectureSpec,
    Option,
    RegistryError,
    ReportSection,
)

_MODEL = ("AudioAutoencoder", "fit_length", "pad_to_multiple")
_POOLING = ("POOLINGS", "pool_track")
_TABLE = ("LatentTable",)
_TESTING = ("ConformanceError", "check_analysis", "check_architecture", "register_tiny_codec",
            "tiny_model_table", "write_synthetic_table")


def __getattr__(name: str):
    """The names whose modules import torch, numpy or pyarrow, imported when first used."""
    if name in _MODEL:
        from musiclatent.architectures import base as module
    elif name in _POOLING:
        from musiclatent.latents import pooling as module
    elif name in _TABLE:
        from musiclatent.latents import table as module
    elif name in _TESTING:
        from musiclatent import testing as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "AnalysisContext",
    "AnalysisError",
    "AnalysisResult",
    "AnalysisSpec",
    "ArchitectureSpec",
    "MusiclatentError",
    "Option",
    "RegistryError",
    "ReportSection",
    "alt",
    "hookimpl",
    *_MODEL,
    *_POOLING,
    *_TABLE,
    *_TESTING,
]
