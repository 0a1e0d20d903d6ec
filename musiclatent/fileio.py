"""Small file helpers every writer uses: atomic writes and paths kept inside an output folder."""

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


# ------------------------------------------------------------------------ exclusive writers
class BusyError(MusiclatentError):
    """Another live process holds the lock of an output (its pid is in the message)."""


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file of output ``path``: ``.<name>.lock`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def exclusive(path: str | os.PathLike, what: str = "another process") -> Iterator[Path]:
    """Hold an exclusive ``flock`` on ``.<name>.lock`` beside ``path`` for the ``with`` block.

    A second process asking for it gets ``BusyError`` at once, naming the holder's pid and
    ``path``. The kernel drops the lock when its holder dies (even by SIGKILL), so no stale lock
    ever blocks a later run. The lock file holds the holder's pid and is removed on release (a
    killed holder leaves it, unlocked: the next run takes it over).
    """
    import fcntl

    path = Path(path)
    lock = lock_path(path)
    with naming(path, lock, lock.parent):
        lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        with naming(path, lock, lock.parent):
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise BusyError(
                f"{path}: {what} (pid {holder}) is writing it; wait for it to finish "
                f"or stop that process, then run the command again"
            ) from None
        try:  # the holder we waited on may have removed the file: lock the one at the path
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield lock
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()  # while still held: a process opening it now retries on the new file
        os.close(fd)  # closing the descriptor releases the lock


def is_locked(path: str | os.PathLike) -> bool:
    """True while some live process holds ``exclusive(path)``."""
    import fcntl

    lock = lock_path(path)
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def remove_stale(folder: str | os.PathLike, pattern: str, older_than: float | None = None) -> list[Path]:
    """Remove leftovers of killed runs matching ``pattern`` (a glob) in ``folder``.

    An entry goes only when it was last modified before ``older_than`` (default: this process's
    start) and no live process holds it (``held``): a staging file or folder that a concurrent
    run is still filling is kept. Returns what went.
    """
    import fcntl

    folder = Path(folder)
    if older_than is None:
        older_than = process_start_time()
    removed = []
    for entry in folder.glob(pattern):
        try:
            if entry.is_symlink() or entry.lstat().st_mtime >= older_than:
                continue
            fd = os.open(entry, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
        except OSError:  # BlockingIOError: a live run holds it
            continue
        finally:
            os.close(fd)
    return removed


@contextlib.contextmanager
def held(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the file or folder ``path`` (so ``remove_stale`` spares it)."""
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def process_start_time() -> float:
    """When this process started (epoch seconds; now, where ``/proc`` does not say)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return time.time()


# ------------------------------------------------------------------------ reading a corpus
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
