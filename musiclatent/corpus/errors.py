"""Errors of the corpus layer: what a user can fix, said in one line naming the file."""

from __future__ import annotations

import os

from musiclatent.errors import MusiclatentError


def printable(path: str | bytes | os.PathLike) -> str:
    """``path`` as one line of text that can always be printed and stored.

    Undecodable bytes become ``\\xNN`` and control characters (newlines, escapes) their escape.
    """
    text = os.fsdecode(path)
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class CorpusError(MusiclatentError):
    """A corpus problem the user can fix (bad folder, bad labels CSV, missing manifest)."""


class AudioReadError(CorpusError):
    """One audio file could not be used; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | bytes | os.PathLike, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{printable(path)}: {reason}")
