"""The corpus layer: discover tracks, read audio, split, segment, cache and serve them to torch.

Import the submodules directly (``musiclatent.corpus.audio`` ...); this package imports nothing
heavy so that ``musiclatent --help`` stays fast. The corpus knows no workspace:
:func:`musiclatent.workspace.load_manifest` remembers a corpus in one.
"""

from __future__ import annotations

from typing import Any

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE

__all__ = ["DEFAULT_SAMPLE_RATE", "scan_corpus"]


def scan_corpus(*args: Any, **kwargs: Any):
    """See :func:`musiclatent.corpus.manifest.scan_corpus`."""
    from musiclatent.corpus.manifest import scan_corpus as _scan

    return _scan(*args, **kwargs)

