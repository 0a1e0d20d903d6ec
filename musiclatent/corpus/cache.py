"""A cache of decoded audio, so epochs after the first do not decode again.

One cache per (corpus root, sample rate) under the workspace cache folder::

    cache/audio-<rate>-<hash of root>/
      data.f32      float32 samples of every cached track, back to back (append-only)
      index.json    track_id -> offset, length, source path, size, mtime_ns

A track's entry is valid while its file keeps the same size and mtime; otherwise it is decoded
again and appended (the old bytes become garbage; the file is compacted when garbage outweighs
live data). Building takes an exclusive lock and writes ``index.json`` atomically after the new
samples are flushed, so a crash leaves the previous cache intact. Readers (DataLoader workers)
open ``data.f32`` as a read-only memory map, once per process.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from musiclatent.corpus.audio import read_audio
from musiclatent.corpus.errors import AudioReadError, printable
from musiclatent.corpus.paths import CorpusPathError, corpus_file
from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE

INDEX_VERSION = 1


def cache_folder(cache_dir: str | os.PathLike, root: str | os.PathLike, sample_rate: int) -> Path:
    """The folder of the cache for corpus ``root`` at ``sample_rate``."""
    key = hashlib.sha1(str(Path(root).resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return Path(cache_dir) / f"audio-{int(sample_rate)}-{key}"


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return int(st.st_size), int(st.st_mtime_ns)


class AudioCache:
    """Decoded float32 mono audio of a corpus at one sample rate, memory-mapped for reading."""

    def __init__(self, cache_dir: str | os.PathLike, root: str | os.PathLike, sample_rate: int = DEFAULT_SAMPLE_RATE):
        self.root = Path(root)
        self.sample_rate = int(sample_rate)
        self.folder = cache_folder(cache_dir, root, sample_rate)
        self.data_path = self.folder / "data.f32"
        self.index_path = self.folder / "index.json"
        self.index: dict[str, dict[str, Any]] = self._read_index()
        self._map: np.memmap | None = None
        self._map_pid: int | None = None
        self._map_size = -1

    # ------------------------------------------------------------------ index
    def _read_index(self) -> dict[str, dict[str, Any]]:
        try:
            doc = json.loads(self.index_path.read_text())
        except (OSError, ValueError):
            return {}
        if doc.get("version") != INDEX_VERSION or doc.get("sample_rate") != self.sample_rate:
            return {}
        return dict(doc.get("tracks", {}))

    def _write_index(self) -> None:
        from musiclatent.fileio import atomic_write_json

        atomic_write_json(self.index_path, {"version": INDEX_VERSION, "sample_rate": self.sample_rate,
                                            "root": str(self.root), "tracks": self.index})

    def is_fresh(self, track_id: str, rel: str) -> bool:
        """Whether ``track_id`` is cached from the file ``rel`` as it is now (size and mtime)."""
        entry = self.index.get(track_id)
        if entry is None or entry.get("path") != rel:
            return False
        try:
            return _stamp(corpus_file(self.root, rel)) == (entry["size"], entry["mtime_ns"])
        except CorpusPathError:
            return False

    def __contains__(self, track_id: str) -> bool:
        return track_id in self.index

    # ------------------------------------------------------------------ building
    def ensure(
        self, tracks: Iterable[tuple[str, str]], progress: bool = True,
        reader: Callable[..., np.ndarray] | None = None,
    ) -> dict[str, str]:
        """Decode and append every ``(track_id, rel_path)`` not cached fresh; return problems.

        The result maps track_id -> reason for files that could not be read (they are skipped).
        """
        from tqdm.auto import tqdm

        reader = reader or read_audio
        tracks = list(tracks)
        problems: dict[str, str] = {}
        with _locked(self.folder):
            self.index = self._read_index()
            todo = [(tid, rel) for tid, rel in tracks if not self.is_fresh(tid, rel)]
            if not todo:
                return problems
            self._compact_if_needed()
            with open(self.data_path, "ab") as fh:
                offset = fh.tell() // 4
                for tid, rel in tqdm(todo, desc="cache audio", unit="track", disable=None if progress else True):
                    try:
                        path = corpus_file(self.root, rel)
                        stamp = _stamp(path)
                        wave = reader(path, self.sample_rate)
                    except CorpusPathError as exc:
                        problems[tid] = str(exc)
                        self.index.pop(tid, None)
                        continue
                    except AudioReadError as exc:
                        problems[tid] = exc.reason
                        self.index.pop(tid, None)
                        continue
                    data = np.ascontiguousarray(wave, dtype="<f4")
                    fh.write(data.tobytes())
                    self.index[tid] = {"offset": offset, "length": int(data.shape[0]), "path": rel,
                                       "size": stamp[0] if stamp else -1,
                                       "mtime_ns": stamp[1] if stamp else -1}
                    offset += int(data.shape[0])
                fh.flush()
                os.fsync(fh.fileno())
            self._write_index()
        self._map = None
        return problems

    def _compact_if_needed(self) -> None:
        """Rewrite ``data.f32`` without dead bytes when they outweigh the live samples."""
        if not self.data_path.exists():
            return
        total = self.data_path.stat().st_size // 4
        live = sum(e["length"] for e in self.index.values())
        if total == 0 or total - live <= max(live, 1 << 20):
            return
        from musiclatent.fileio import atomic_path

        old = np.memmap(self.data_path, dtype="<f4", mode="r")
        new_index, offset = {}, 0
        with atomic_path(self.data_path) as tmp, open(tmp, "wb") as fh:
            for tid, e in self.index.items():
                fh.write(np.asarray(old[e["offset"]: e["offset"] + e["length"]]).tobytes())
                new_index[tid] = {**e, "offset": offset}
                offset += e["length"]
        del old
        self.index = new_index
        self._write_index()

    # ------------------------------------------------------------------ reading
    def _memmap(self) -> np.memmap:
        size = self.data_path.stat().st_size
        if self._map is None or self._map_pid != os.getpid() or self._map_size != size:
            self._map = np.memmap(self.data_path, dtype="<f4", mode="r")
            self._map_pid, self._map_size = os.getpid(), size
        return self._map

    def get(self, track_id: str) -> np.ndarray:
        """The cached wave of ``track_id`` (a read-only view into the memory map)."""
        entry = self.index.get(track_id)
        if entry is None:
            raise KeyError(f"{printable(track_id)} is not in the audio cache {self.folder}")
        return self._memmap()[entry["offset"]: entry["offset"] + entry["length"]]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_map"] = None  # each worker process opens its own read-only map
        return state
