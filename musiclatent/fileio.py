"""Writing outputs safely: atomic writes, names and paths kept inside an output folder, folders
swapped in whole.

- ``atomic_path`` / ``atomic_write_*``: a temporary file beside the target, fsynced and renamed
  onto it, so a reader never sees a half-written file; ``naming`` / ``staged_naming`` make an
  ``OSError`` name the output the user chose.
- ``safe_name`` and ``inside``: file names derived from track ids, and paths that cannot land
  outside the output folder (``UnsafePathError``).
- ``swap_folder`` and ``foreign_folder``: a complete staging folder replaces an output folder in
  one step, and never a folder the writer did not make.

Locks between processes and stale-file cleanup are ``musiclatent.locks``; the corpus-path checks
are ``musiclatent.corpus.paths``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from musiclatent.deprecation import moved
from musiclatent.errors import MusiclatentError


class UnsafePathError(MusiclatentError, ValueError):
    """A name would place a file outside its output folder."""


@contextlib.contextmanager
def naming(path: str | os.PathLike, *hidden: str | os.PathLike) -> Iterator[None]:
    """Re-raise an ``OSError`` that names no file (``fsync``, pyarrow) or only a temporary one
    (``hidden``) as the same error naming ``path``, so the user hears which output failed."""
    try:
        yield
    except OSError as exc:
        if exc.errno is not None and (exc.filename is None or str(exc.filename) in {str(h) for h in hidden}):
            raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path)) from exc
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed onto ``path``.

    On error the temporary file is removed and ``path`` is untouched, so a reader never sees a
    half-written file.
    """
    path = Path(path)
    with naming(path, path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=suffix if suffix is not None else ".tmp" + path.suffix, dir=path.parent
        )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        with naming(path, tmp_path):
            yield tmp_path
            with open(tmp_path, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
            os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, max_len: int = 120) -> str:
    """A file-name-safe version of ``name`` (track ids contain ``/`` and anything a user named)."""
    cleaned = _SAFE.sub("_", name).strip("._") or "item"
    if len(cleaned) > max_len:
        cleaned = cleaned[:max_len - 9] + "_" + hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return cleaned


def inside(root: str | os.PathLike, *parts: str) -> Path:
    """``root/parts...`` resolved, refusing any result outside ``root`` (``..``, absolute parts, links)."""
    root_path = Path(root).resolve()
    candidate = root_path.joinpath(*parts).resolve()
    if candidate != root_path and root_path not in candidate.parents:
        raise UnsafePathError(f"{'/'.join(parts)!r} would be written outside {root_path}")
    return candidate


def foreign_folder(folder: str | os.PathLike, ours: Callable[[Path], bool], what: str) -> str | None:
    """Why ``folder`` must not be replaced by a writer of ``what`` (a sentence), or ``None``.

    A missing or empty folder, or one ``ours(folder)`` recognises as an earlier output of the same
    writer (its marker file), may be replaced whole; a file, or a folder holding anything else,
    may not: ``--out .`` must never wipe the current folder.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        return f"{folder} is a file; pass --out with a folder"
    if folder.is_dir() and any(folder.iterdir()) and not ours(folder):
        return (f"{folder} exists and is not {what}; refusing to replace it "
                "(pass another --out or remove the folder)")
    return None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this file system or kernel cannot
        return False
    raise OSError(err, os.strerror(err), str(b))


def _remove(path: Path) -> None:
    """Remove a folder tree, or a file or link (a folder swapped with a single-file table)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def swap_folder(staging: str | os.PathLike, folder: str | os.PathLike) -> None:
    """Put the complete folder ``staging`` in place of ``folder`` (a folder, a file or a link).

    Where the kernel supports it the two are exchanged in one atomic step, so a reader (or a
    kill) always finds the old or the new folder whole at ``folder``. Elsewhere the old folder is
    renamed aside first and removed only after the new one is in place; if the second rename fails
    the old one is put back.
    """
    staging, folder = Path(staging), Path(folder)
    present = folder.exists() or folder.is_symlink()
    if present and _exchange(staging, folder):
        _remove(staging)  # staging now holds the old folder (or file)
        return
    old = None
    if present:
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}-{int(time.time() * 1000)}")
        os.replace(folder, old)
    try:
        os.replace(staging, folder)
    except BaseException:
        if old is not None:
            os.replace(old, folder)
        raise
    if old is not None:
        _remove(old)


@contextlib.contextmanager
def staged_naming(folder: str | os.PathLike, staging: str | os.PathLike) -> Iterator[None]:
    """Re-raise an ``OSError`` about a file inside the hidden ``staging`` folder (or naming no
    file) as the same error naming the matching path in ``folder``, the output the user chose."""
    folder, staging = Path(folder), Path(staging)
    try:
        yield
    except OSError as exc:
        if exc.errno is None:
            raise
        name = exc.filename
        if name is None:
            raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(folder)) from exc
        try:
            rel = Path(os.fsdecode(name)).relative_to(staging)
        except ValueError:
            raise exc from None
        target = folder / rel if str(rel) != "." else folder
        raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(target)) from exc


# ------------------------------------------------------------------------ moved names
# Locks and stale-file cleanup live in musiclatent.locks, the corpus-path checks in
# musiclatent.corpus.paths; the old spelling ``from musiclatent.fileio import ...`` works, with a
# DeprecationWarning, for one release.
MOVED_TO_LOCKS = ("BusyError", "exclusive", "held", "is_locked", "lock_path", "process_start_time",
                  "remove_stale")
MOVED_TO_CORPUS = ("CorpusPathError", "corpus_file", "corpus_root")


def _locks():
    from musiclatent import locks

    return locks


def _corpus_paths():
    from musiclatent.corpus import paths

    return paths


_to_locks = moved(__name__, _locks, names=MOVED_TO_LOCKS, stacklevel=3, stays=True)
_to_corpus = moved(__name__, _corpus_paths, names=MOVED_TO_CORPUS, stacklevel=3, stays=True)


def __getattr__(name: str) -> object:
    return (_to_corpus if name in MOVED_TO_CORPUS else _to_locks)(name)
