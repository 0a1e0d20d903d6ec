"""Reading a corpus safely: the audio file a table's or manifest's ``path`` names, resolved
inside its corpus root (``corpus_file``), and a corpus root that is not ``/`` (``corpus_root``).

Every reader of a ``path`` column (the encoding core, the decoded-audio cache, the manifest,
``AnalysisContext.read_audio``, the report's previews) resolves it here.
"""

from __future__ import annotations

import os
from pathlib import Path

from musiclatent.fileio import UnsafePathError


class CorpusPathError(UnsafePathError):
    """A table or manifest names an audio file outside its corpus root (or the root is ``/``)."""


def corpus_root(root: str | os.PathLike) -> Path:
    """``root`` resolved; the file-system root itself is refused (a table claiming it would let
    its ``path`` column name any file on the machine)."""
    resolved = Path(root).expanduser().resolve()
    if resolved == Path(resolved.anchor):
        raise CorpusPathError(
            f"corpus root {str(root)!r} is the file-system root; refusing to read audio from it "
            "(scan the music folder itself)")
    return resolved


def corpus_file(root: str | os.PathLike, rel: str | os.PathLike) -> Path:
    """The audio file ``rel`` (a table's or manifest's ``path``) resolved inside ``root``.

    Refuses, naming ``rel``: a path climbing out (``..``), an absolute path outside the root and
    a root that is ``/``. The check is on the names (links the corpus owner put inside the corpus
    are followed: a table cannot create links, only name paths). Every reader of a ``path``
    column uses this.
    """
    base = corpus_root(root)
    text = os.fspath(rel)
    candidate = Path(os.path.normpath(base / text.replace("\\", "/")))
    if candidate == base or base not in candidate.parents:
        raise CorpusPathError(f"{text!r} is outside the corpus root {base}; refusing to read it")
    return candidate


__all__ = ["CorpusPathError", "corpus_file", "corpus_root"]
