"""Deprecated: moved to :mod:`musiclatent.testing` (re-exported with a ``DeprecationWarning``)."""

from musiclatent.deprecation import moved


def _new():
    from musiclatent.testing import tables

    return tables


__getattr__ = moved(__name__, _new, renamed={"_rows": "segment_rows"})
