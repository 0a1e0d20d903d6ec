"""Deprecated: the quality benchmark moved to :mod:`musiclatent.quality`
(``musiclatent.benchmarks.quality`` is ``musiclatent.quality.benchmark``,
``musiclatent.benchmarks.references`` is ``musiclatent.quality.references``); the old module
paths keep working for one release, re-exporting with a ``DeprecationWarning``.
"""

from musiclatent.deprecation import moved_modules


def _quality():
    from musiclatent.quality import benchmark

    return benchmark


def _references():
    from musiclatent.quality import references

    return references


moved_modules(__name__, {"quality": _quality, "references": _references})
