"""Locks between processes: one writer per output, and leftovers of killed runs removed only
when no live process holds them.

``exclusive(path)`` holds an ``flock`` on ``.<name>.lock`` beside an output for the time one
process writes it (a second writer gets ``BusyError`` at once). ``held(path)`` holds a staging
file or folder, and ``remove_stale`` removes a killed run's staging leftovers but spares those a
live process holds. The kernel drops every lock when its holder dies, even by SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from musiclatent.errors import MusiclatentError
from musiclatent.fileio import naming


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


__all__ = ["BusyError", "exclusive", "held", "is_locked", "lock_path", "process_start_time", "remove_stale"]
