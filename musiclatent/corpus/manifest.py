"""The manifest: one table of a corpus's tracks (labels, splits, audio facts) and its problems.

``scan_corpus`` discovers the tracks, reads every header (and, unless ``quick``, decodes every
file once to catch damaged data and NaN/Inf samples), assigns splits and returns a
:class:`Manifest`. ``Manifest.save`` writes Parquet atomically; the problems and the corpus
root travel in the file's metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from musiclatent.corpus.audio import AudioInfo, audio_info, decode
from musiclatent.corpus.discover import Discovery, Found, discover
from musiclatent.corpus.errors import AudioReadError, CorpusError, printable
from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.corpus.splits import SPLITS, assign_splits

FORMAT = "musiclatent.manifest"
FORMAT_VERSION = 1
TRACK_COLUMNS = ["track_id", "path", "label", "split", "duration_s", "sample_rate", "channels",
                 "frames", "format", "size", "mtime"]
PROBLEM_COLUMNS = ["path", "reason"]


def _object_labels(values) -> pd.Series:
    """Labels as an object column holding ``str`` or ``None`` (the same after save/load)."""
    return pd.Series([None if x is None or (isinstance(x, float) and x != x) else str(x) for x in values],
                     dtype=object)


_NUMERIC = {"duration_s": "float64", "sample_rate": "int64", "channels": "int64", "frames": "int64",
            "size": "int64", "mtime": "float64"}


def _empty_tracks() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_NUMERIC.get(c, "object")) for c in TRACK_COLUMNS})


@dataclass
class Manifest:
    """A scanned corpus: ``tracks`` (one row per usable track) and ``problems`` (path, reason)."""

    root: Path
    tracks: pd.DataFrame
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))
    sample_rate: int = DEFAULT_SAMPLE_RATE
    seed: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        """Sorted distinct labels (unlabelled tracks excluded)."""
        return sorted({str(x) for x in self.tracks["label"].dropna()})

    def split(self, name: str | None) -> pd.DataFrame:
        """Tracks of split ``name`` (``None``: all tracks)."""
        if name is None:
            return self.tracks
        if name not in SPLITS:
            raise CorpusError(f"unknown split {name!r}; use one of {', '.join(SPLITS)}")
        return self.tracks[self.tracks["split"] == name]

    def abspath(self, rel: str) -> Path:
        """Absolute path of a track from its ``path`` column, inside the corpus root
        (``AudioReadError`` naming ``rel`` when it climbs out; see ``corpus.paths.corpus_file``)."""
        from musiclatent.corpus.paths import CorpusPathError, corpus_file

        try:
            return corpus_file(self.root, rel)
        except CorpusPathError as exc:
            raise AudioReadError(rel, str(exc)) from None

    def summary(self) -> dict[str, Any]:
        """Counts and totals for printing: tracks per label and split, duration, rates, channels."""
        t = self.tracks
        labels = t["label"].fillna("(unlabelled)")
        return {
            "root": str(self.root),
            "tracks": int(len(t)),
            "problems": int(len(self.problems)),
            "total_duration_s": float(t["duration_s"].sum()) if len(t) else 0.0,
            "tracks_per_label": {str(k): int(v) for k, v in labels.value_counts().sort_index().items()},
            "splits": {s: int((t["split"] == s).sum()) for s in SPLITS},
            "sample_rates": {int(k): int(v) for k, v in t["sample_rate"].value_counts().sort_index().items()},
            "channels": {int(k): int(v) for k, v in t["channels"].value_counts().sort_index().items()},
            "formats": {str(k): int(v) for k, v in t["format"].value_counts().sort_index().items()},
            "target_sample_rate": int(self.sample_rate),
        }

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the manifest as Parquet (atomic), with root, problems and format in metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from musiclatent.fileio import atomic_path

        table = pa.Table.from_pandas(self.tracks[TRACK_COLUMNS].reset_index(drop=True), preserve_index=False)
        meta = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "root": str(self.root),
            "sample_rate": int(self.sample_rate), "seed": int(self.seed),
            "problems": self.problems[PROBLEM_COLUMNS].to_dict("records"), **self.meta,
        }
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               b"musiclatent": json.dumps(meta, default=str).encode()})
        path = Path(path)
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Manifest:
        """Read a manifest written by :meth:`save`; a clear :class:`CorpusError` if it is not one."""
        import pyarrow.parquet as pq

        path = Path(path)
        try:
            table = pq.read_table(path)
        except FileNotFoundError:
            raise CorpusError(f"{path}: no manifest; run `musiclatent corpus scan PATH` first") from None
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise CorpusError(f"{path}: not a readable manifest ({exc}); scan the corpus again") from None
        raw = (table.schema.metadata or {}).get(b"musiclatent")
        meta = json.loads(raw) if raw else {}
        if meta.get("format") != FORMAT:
            raise CorpusError(f"{path}: not a musiclatent manifest; scan the corpus again")
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise CorpusError(f"{path}: manifest format {meta['format_version']} is newer than this "
                              f"musiclatent understands ({FORMAT_VERSION}); upgrade or scan again")
        problems = pd.DataFrame(meta.pop("problems", []), columns=PROBLEM_COLUMNS)
        tracks = table.to_pandas()
        tracks["label"] = _object_labels(tracks["label"])
        extra = {k: v for k, v in meta.items()
                 if k not in ("format", "format_version", "root", "sample_rate", "seed")}
        return cls(root=Path(meta["root"]), tracks=tracks, problems=problems,
                   sample_rate=int(meta.get("sample_rate", DEFAULT_SAMPLE_RATE)), seed=int(meta.get("seed", 0)), meta=extra)


# ---------------------------------------------------------------------- scanning
def _probe(found: Found, quick: bool) -> AudioInfo:
    info = audio_info(found.path)
    if quick:
        return info
    wave, rate = decode(found.path)
    # decoded length is the truth (MP3 headers estimate; truncated files are read up to the cut)
    return AudioInfo(frames=int(wave.shape[0]), sample_rate=rate, channels=info.channels,
                     format=info.format, subtype=info.subtype, size=info.size, mtime=info.mtime)


def fingerprint(found: Discovery, labels_csv: str | os.PathLike | None = None) -> str:
    """A hash of which files exist with which size/mtime (and the labels CSV): equal = unchanged."""
    h = hashlib.sha1()
    for t in found.tracks:
        try:
            st = os.stat(t.path)
            h.update(f"{t.rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            h.update(f"{t.rel}\0missing\n".encode("utf-8", "surrogateescape"))
    for rel, reason in found.problems:
        h.update(f"{rel}\0{reason}\n".encode("utf-8", "surrogateescape"))
    if labels_csv is not None:
        try:
            h.update(Path(labels_csv).read_bytes())
        except OSError:
            h.update(b"labels-missing")
    return h.hexdigest()


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def scan_corpus(
    root: str | os.PathLike,
    labels_csv: str | os.PathLike | None = None,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    jobs: int | None = None,
    quick: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> Manifest:
    """Scan ``root`` (folder or one audio file) into a :class:`Manifest`; one bad file never stops it."""
    from tqdm.auto import tqdm

    found = discover(root, labels_csv)
    problems: list[tuple[str, str]] = list(found.problems)
    rows: list[dict[str, Any]] = []
    given: list[str | None] = []  # the split the labels CSV names for each row (None: by seed)
    jobs = jobs or default_jobs()

    def probe(t: Found) -> tuple[Found, AudioInfo | None, str | None]:
        try:
            return t, _probe(t, quick), None
        except AudioReadError as exc:
            return t, None, exc.reason
        except Exception as exc:  # a decoder bug on one file must not stop the scan
            return t, None, f"unexpected error while reading ({type(exc).__name__}: {exc})"

    bar = tqdm(total=len(found.tracks), desc="scan" if quick else "scan+decode", unit="file",
               disable=None if progress else True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for t, info, reason in pool.map(probe, found.tracks):
            bar.update(1)
            if info is None:
                problems.append((t.rel, f"{reason}; skipped"))
                continue
            rows.append({
                "track_id": t.track_id, "path": t.rel, "label": t.label, "split": None,
                "duration_s": info.duration_s, "sample_rate": info.sample_rate,
                "channels": info.channels, "frames": info.frames, "format": info.format,
                "size": info.size, "mtime": info.mtime,
            })
            given.append(t.split)
    bar.close()
    tracks = pd.DataFrame(rows, columns=TRACK_COLUMNS) if rows else _empty_tracks()
    if len(tracks):
        tracks["label"] = _object_labels(tracks["label"])
        seeded = assign_splits(list(tracks["track_id"]), list(tracks["label"]), seed=seed)
        tracks["split"] = [g or s for g, s in zip(given, seeded, strict=True)]
        tracks = tracks.astype(_NUMERIC)
    problem_df = pd.DataFrame([{"path": printable(p), "reason": r} for p, r in problems],
                              columns=PROBLEM_COLUMNS)
    meta = {"source": str(Path(root).expanduser().resolve()), "layout": found.layout, "quick": bool(quick), "scanned_at": time.time(),
            "labels_csv": str(Path(labels_csv).resolve()) if labels_csv else None,
            "fingerprint": fingerprint(found, labels_csv)}
    return Manifest(root=found.root, tracks=tracks, problems=problem_df, sample_rate=int(sample_rate),
                    seed=seed, meta=meta)
