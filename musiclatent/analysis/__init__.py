"""Deprecated: the analysis API moved to :mod:`musiclatent.analyses` (``base``: what an analysis
receives and returns; ``runner``: runs one and writes its outputs). Plugin authors import it from
:mod:`musiclatent.plugin_api`. This shim re-exports the old names with a ``DeprecationWarning``.
"""

from musiclatent.deprecation import moved


def _new():
    from musiclatent.analyses import base

    return base


__getattr__ = moved(__name__, _new, names=("AnalysisContext", "AnalysisError", "AnalysisResult"))
