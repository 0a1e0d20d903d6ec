"""The corpus layer: discover tracks, read audio, split, segment, cache and serve them to torch.

Import the submodules directly (``musiclatent.corpus.audio`` ...); this package imports nothing
heavy so that ``musiclatent --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_manifest", "scan_corpus"]


def scan_corpus(*args: Any, **kwargs: Any):
    """See :func:`musiclatent.corpus.manifest.scan_corpus`."""
    from musiclatent.corpus.manifest import scan_corpus as _scan

    return _scan(*args, **kwargs)


def load_manifest(*args: Any, **kwargs: Any):
    """See :func:`musiclatent.corpus.manifest.load_manifest`."""
    from musiclatent.corpus.manifest import load_manifest as _load

    return _load(*args, **kwargs)
