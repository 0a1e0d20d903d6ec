"""Find the tracks of a corpus and their labels.

Layouts understood:

* GTZAN: ``ROOT/genres/<genre>/*.wav`` or ``ROOT/<genre>/*.wav`` — every audio file sits exactly
  one folder below ``ROOT`` (or ``ROOT/genres``) and that folder's name is its label;
* any folder, searched recursively, with an optional labels CSV (``path,label``, optionally a
  ``split`` column of ``train``/``validation``/``test``; paths relative to the root, with or
  without extension). Without a CSV and without the one-level layout,
  tracks are unlabelled;
* a single audio file: a corpus of one track whose root is the file's folder.

Hidden files and folders (``.name``) are ignored, and so are links to folders (no loops).
A track id is the path relative to the root without its extension, with ``/`` separators.
File names that are not valid UTF-8 are reported and skipped (the manifest stores text).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from musiclatent.corpus.audio import AUDIO_EXTENSIONS
from musiclatent.corpus.errors import CorpusError, printable
from musiclatent.corpus.splits import SPLITS


@dataclass
class Found:
    """One candidate track: its absolute path, path relative to the root, id, label and the
    split a labels CSV gave it (``None``: assigned by seed)."""

    path: Path
    rel: str
    track_id: str
    label: str | None = None
    split: str | None = None


@dataclass
class Discovery:
    """What :func:`discover` found: tracks, and problems as ``(relative path, reason)`` pairs."""

    root: Path
    tracks: list[Found] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    layout: str = "folder"


def is_audio_name(name: str) -> bool:
    return name.lower().endswith(AUDIO_EXTENSIONS)


def _valid_text(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _walk(root: Path, problems: list[tuple[str, str]]) -> list[str]:
    """Relative POSIX paths of audio files under ``root`` (sorted)."""
    found: list[str] = []

    def onerror(exc: OSError) -> None:
        rel = os.path.relpath(exc.filename, root) if exc.filename else "."
        problems.append((printable(rel), f"folder cannot be listed ({exc.strerror or exc}); skipped"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        rel_dir = os.path.relpath(dirpath, root)
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            rel = d if rel_dir == "." else f"{rel_dir}/{d}"
            if is_audio_name(d):
                problems.append((printable(rel), "is a directory, not an audio file; skipped"))
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith(".") or not is_audio_name(name):
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            rel = rel.replace(os.sep, "/")
            if not _valid_text(rel):
                problems.append((printable(rel), "file name is not valid UTF-8; rename it to include it"))
                continue
            found.append(rel)
    return sorted(found)


def _track_ids(rels: list[str]) -> dict[str, str]:
    """rel -> track id; files whose id would collide (``a.wav`` + ``a.flac``) keep their extension."""
    ids = {rel: str(PurePosixPath(rel).with_suffix("")) for rel in rels}
    counts: dict[str, int] = {}
    for tid in ids.values():
        counts[tid] = counts.get(tid, 0) + 1
    return {rel: (tid if counts[tid] == 1 else rel) for rel, tid in ids.items()}


def _normalise(rel: str) -> str:
    rel = rel.strip().replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    return rel


def read_labels_csv(
    csv_path: str | os.PathLike, root: Path, tracks: list[Found], problems: list[tuple[str, str]]
) -> None:
    """Set ``label`` (and ``split`` where the CSV has that column) on ``tracks`` from a
    ``path,label[,split]`` CSV; report missing, extra and duplicate rows and unknown splits."""
    csv_path = Path(csv_path)
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = [f.strip().lower() for f in (reader.fieldnames or [])]
            if "path" not in fields or "label" not in fields:
                raise CorpusError(
                    f"{csv_path}: labels CSV needs a header with columns 'path' and 'label' "
                    f"(found {reader.fieldnames or 'no header'})"
                )
            reader.fieldnames = fields
            rows = list(reader)
    except FileNotFoundError:
        raise CorpusError(f"{csv_path}: labels CSV not found") from None
    except UnicodeDecodeError:
        raise CorpusError(f"{csv_path}: labels CSV is not UTF-8 text; save it as UTF-8") from None
    except csv.Error as exc:
        raise CorpusError(f"{csv_path}: labels CSV is malformed ({exc})") from None

    by_rel = {t.rel: t for t in tracks}
    by_id = {t.track_id: t for t in tracks}
    seen: dict[str, tuple[int, str | None]] = {}
    root_abs = str(root.resolve())
    for line, row in enumerate(rows, start=2):
        raw = (row.get("path") or "").strip()
        label = (row.get("label") or "").strip() or None
        split = (row.get("split") or "").strip().lower() or None
        if not raw:
            problems.append((f"{csv_path.name}:{line}", "labels CSV row has an empty path; ignored"))
            continue
        rel = _normalise(raw)
        if os.path.isabs(rel) and (rel + "/").startswith(root_abs + "/"):
            rel = os.path.relpath(rel, root_abs).replace(os.sep, "/")
        track = by_rel.get(rel) or by_id.get(rel)
        if track is None:
            problems.append((rel, f"listed in labels CSV (line {line}) but no such audio file under the corpus root; row ignored"))
            continue
        if track.rel in seen:
            first_line, first_label = seen[track.rel]
            what = "same label" if first_label == label else f"conflicting label {label!r} vs {first_label!r}"
            problems.append((track.rel, f"duplicate row in labels CSV (lines {first_line} and {line}, {what}); first row used"))
            continue
        seen[track.rel] = (line, label)
        track.label = label
        if split is not None and split not in SPLITS:
            problems.append((track.rel, f"labels CSV (line {line}) names split {split!r}, not one of "
                                        f"{', '.join(SPLITS)}; split assigned by seed"))
            split = None
        track.split = split
    for track in tracks:
        if track.rel not in seen:
            problems.append((track.rel, "no row in labels CSV; kept as unlabelled"))


def read_csv_column(csv_path: str | os.PathLike, column: str) -> dict[str, str]:
    """``column`` of a labels CSV by path: keys are the normalised ``path`` with and without its
    extension, so both a manifest ``path`` and a ``track_id`` find the row (first row wins)."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = [f.strip().lower() for f in (reader.fieldnames or [])]
            if "path" not in fields or column.lower() not in fields:
                raise CorpusError(f"{csv_path}: no column {column!r} in the labels CSV (columns: {', '.join(fields)})")
            reader.fieldnames = fields
            out: dict[str, str] = {}
            for row in reader:
                rel = _normalise(row.get("path") or "")
                value = (row.get(column.lower()) or "").strip()
                if rel and value:
                    out.setdefault(rel, value)
                    out.setdefault(str(PurePosixPath(rel).with_suffix("")), value)
            return out
    except FileNotFoundError:
        raise CorpusError(f"{csv_path}: labels CSV not found") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CorpusError(f"{csv_path}: labels CSV is not readable UTF-8 CSV ({exc})") from None


def discover(root: str | os.PathLike, labels_csv: str | os.PathLike | None = None) -> Discovery:
    """Find the audio files of the corpus at ``root`` (a folder or a single audio file)."""
    root = Path(root).expanduser()
    if not root.exists():
        raise CorpusError(f"{printable(root)}: corpus folder does not exist")
    root = root.resolve()
    if root.is_file():
        if not is_audio_name(root.name):
            raise CorpusError(f"{printable(root)}: not an audio file ({', '.join(AUDIO_EXTENSIONS)}) or folder")
        out = Discovery(root=root.parent, layout="file")
        if not _valid_text(root.name):
            out.problems.append((printable(root.name), "file name is not valid UTF-8; rename it to include it"))
            return out
        out.tracks.append(Found(root, root.name, str(PurePosixPath(root.name).with_suffix(""))))
        if labels_csv is not None:
            read_labels_csv(labels_csv, out.root, out.tracks, out.problems)
        return out

    out = Discovery(root=root)
    rels = _walk(root, out.problems)
    ids = _track_ids(rels)
    out.tracks = [Found(root / rel, rel, ids[rel]) for rel in rels]
    if labels_csv is not None:
        out.layout = "labels-csv"
        read_labels_csv(labels_csv, root, out.tracks, out.problems)
    elif out.tracks:
        parts = [PurePosixPath(t.rel).parts for t in out.tracks]
        if all(len(p) == 2 for p in parts):
            out.layout = "gtzan"
            for t, p in zip(out.tracks, parts, strict=True):
                t.label = p[0]
        elif all(len(p) == 3 and p[0] == "genres" for p in parts):
            out.layout = "gtzan"
            for t, p in zip(out.tracks, parts, strict=True):
                t.label = p[1]
    return out
