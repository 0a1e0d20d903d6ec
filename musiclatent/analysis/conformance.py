"""Deprecated: moved to :mod:`musiclatent.testing` (re-exported with a ``DeprecationWarning``).

The old ``check_analysis(spec, table_path, out_dir=None, ...)`` took the table as its second
argument; :func:`musiclatent.testing.check_analysis` takes it as ``table=``.
"""

import warnings

from musiclatent.deprecation import moved
from musiclatent.latents.pooling import DEFAULT_POOLING


def _new():
    from musiclatent.testing import analyses

    return analyses


def check_analysis(spec_or_name, table_path, out_dir=None, pooling=DEFAULT_POOLING, **options):
    """Deprecated: ``musiclatent.testing.check_analysis(spec_or_name, table=table_path, ...)``."""
    warnings.warn("musiclatent.analysis.conformance.check_analysis moved to musiclatent.testing.check_analysis"
                  "(spec_or_name, table=..., out_dir=...); import it from there", DeprecationWarning, stacklevel=2)
    return _new().check_analysis(spec_or_name, table=table_path, out_dir=out_dir, pooling=pooling, **options)


__getattr__ = moved(__name__, _new, names=("ConformanceError",))
