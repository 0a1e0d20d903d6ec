"""Deprecated: moved to :mod:`musiclatent.analyses.runner` (re-exported with a ``DeprecationWarning``)."""

from musiclatent.deprecation import moved


def _new():
    from musiclatent.analyses import runner

    return runner


__getattr__ = moved(__name__, _new)
