"""Deprecated: the networks moved to :mod:`musiclatent.architectures`, their layers to
:mod:`musiclatent.nn` (docs/architecture.md). ``musiclatent.models.seed`` and the other old module
paths keep working for one release, re-exporting with a ``DeprecationWarning``:

=============================  ========================================
old                            new
=============================  ========================================
``musiclatent.models.seed``      ``musiclatent.architectures.seed``
``musiclatent.models.modern``    ``musiclatent.architectures.modern``
``musiclatent.models.spectral``  ``musiclatent.architectures.spectral``
``musiclatent.models.hybrid``    ``musiclatent.architectures.hybrid``
``musiclatent.models.fused``     ``musiclatent.nn.fused``
``musiclatent.models.blocks``    ``musiclatent.nn.seed_layers``
``musiclatent.models.layers``    ``musiclatent.nn.modern_layers``
=============================  ========================================
"""

from musiclatent.deprecation import moved_modules


def _seed():
    from musiclatent.architectures import seed

    return seed


def _modern():
    from musiclatent.architectures import modern

    return modern


def _spectral():
    from musiclatent.architectures import spectral

    return spectral


def _hybrid():
    from musiclatent.architectures import hybrid

    return hybrid


def _fused():
    from musiclatent.nn import fused

    return fused


def _blocks():
    from musiclatent.nn import seed_layers

    return seed_layers


def _layers():
    from musiclatent.nn import modern_layers

    return modern_layers


moved_modules(__name__, {"seed": _seed, "modern": _modern, "spectral": _spectral, "hybrid": _hybrid,
                         "fused": _fused, "blocks": _blocks, "layers": _layers})
