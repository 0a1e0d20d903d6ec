"""Build the real-music development corpus from Debian game-music packages.

    sudo python -m benchmarks.devcorpus --out /work/devcorpus     # downloads about 310 MB

Downloads a fixed list of Debian packages whose music is GPL or CC-BY-SA (``apt-get download``),
extracts them (``dpkg-deb -x``), cuts several 30 s clips from each source track (22.05 kHz mono
16-bit WAV, spread over the track, near-silent clips skipped), and writes into ``--out``:

* ``<label>/<track>__NN.wav``: the clips (label = the game whose soundtrack it is);
* ``labels.csv``: ``path,label,split,source_track,package,source_file,start_s,duration_s``; the
  ``split`` is assigned **per source track** (every clip of a track shares it), so no excerpt of a
  validation/test track is trained on; ``musiclatent corpus scan DIR --labels DIR/labels.csv``
  uses it;
* ``LICENSES.md``: every package, file, licence and author (from each package's
  ``/usr/share/doc/<pkg>/copyright``), and ``licenses/<pkg>.copyright``: the copyright files;
* ``READY``: written last, when everything else is in place.

The packages listed in :data:`RESERVED` are kept for independent evaluation and are never used.
The audio is never committed to the repository.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import io
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RESERVED = frozenset({
    "biniax2-data", "bomberclone-data", "fretsonfire-songs-muldjord", "fretsonfire-songs-sectoid",
    "gl-117-data", "marsshooter-data", "naev-data", "nexuiz-music", "pingus-data", "rafkill-data",
    "singularity-music", "tecnoballz-data",
})
"""Held out for independent evaluation (any version), as is any ``wesnoth*`` package."""

AUDIO_EXTENSIONS = (".ogg", ".opus", ".mp3", ".flac", ".wav")  # what libsndfile (soundfile) reads


@dataclass(frozen=True)
class Source:
    """One Debian package and where its music lies inside it."""

    package: str
    label: str
    folder: str                      # inside the extracted package; searched recursively
    same_music: tuple[tuple[str, str], ...] = ()   # (file stem, stem it re-arranges): one source track


SOURCES: tuple[Source, ...] = (
    Source("asc-music", "asc", "usr/share/games/asc/music"),
    Source("colobot-common-sounds", "colobot", "usr/share/games/colobot/music"),
    Source("hyperrogue-music", "hyperrogue", "usr/share/hyperrogue/music"),
    Source("planetblupi-music-ogg", "planetblupi", "usr/share/planetblupi/music"),
    Source("pushover-data", "pushover", "usr/share/pushover/themes"),
    Source("warzone2100-music", "warzone2100", "usr/share/games/warzone2100/music",
           same_music=(("track3_enhanced", "track3"), ("menu_enhanced", "menu"))),
)


class DevCorpusError(Exception):
    """The corpus cannot be built (the message says why and what to do)."""


def is_reserved(package: str) -> bool:
    return package in RESERVED or package.startswith("wesnoth")


def check_sources(sources=SOURCES) -> None:
    bad = [s.package for s in sources if is_reserved(s.package)]
    if bad:
        raise DevCorpusError(f"reserved for independent evaluation, never used: {', '.join(bad)}")


# ---------------------------------------------------------------------- clips
def clip_starts(duration_s: float, clip_s: float = 30.0, per_track: int = 3, margin_s: float = 5.0) -> list[float]:
    """Start times of up to ``per_track`` non-overlapping clips spread evenly over a track.

    A margin (at most ``margin_s``) is left at both ends; a track shorter than one clip gets none.
    """
    if duration_s < clip_s or per_track < 1:
        return []
    margin = min(margin_s, (duration_s - clip_s) / 2)
    n = max(1, min(per_track, int((duration_s - 2 * margin) // clip_s)))
    if n == 1:
        return [round((duration_s - clip_s) / 2, 3)]
    return [round(float(s), 3) for s in np.linspace(margin, duration_s - margin - clip_s, n)]


def read_clip(path: Path, start_s: float, clip_s: float, sample_rate: int) -> np.ndarray:
    """``clip_s`` seconds from ``start_s`` of ``path`` as float32 mono at ``sample_rate``."""
    import soundfile as sf

    from musiclatent.corpus.audio import resample

    with sf.SoundFile(os.fsencode(path)) as fh:
        fh.seek(int(round(start_s * fh.samplerate)))
        data = fh.read(int(round(clip_s * fh.samplerate)), dtype="float32", always_2d=True)
        rate = fh.samplerate
    wave = data.mean(axis=1).astype(np.float32)
    out = resample(wave, rate, sample_rate)
    n = int(round(clip_s * sample_rate))
    return np.pad(out, (0, max(0, n - out.shape[0])))[:n]


# ---------------------------------------------------------------------- copyright (DEP-5)
def parse_copyright(text: str) -> list[dict[str, str]]:
    """Paragraphs of a Debian copyright file as dicts (field names lower-case, continuation joined)."""
    paragraphs, cur, key = [], {}, None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                paragraphs.append(cur)
            cur, key = {}, None
        elif line[0] in " \t" and key:
            cur[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            cur[key] = value.strip()
    if cur:
        paragraphs.append(cur)
    return paragraphs


def _matches(pattern: str, rel: str) -> bool:
    """DEP-5 ``Files:`` patterns name source-tree paths; installed paths end with them."""
    parts = rel.split("/")
    return any(fnmatch.fnmatchcase("/".join(parts[i:]), pattern) for i in range(len(parts)))


def file_licence(paragraphs: list[dict[str, str]], rel: str) -> tuple[str, str]:
    """``(copyright, licence)`` of installed file ``rel``: the last matching ``Files:`` paragraph."""
    found = ("unknown", "unknown")
    for p in paragraphs:
        if "files" not in p:
            continue
        if any(_matches(pat, rel) for pat in p["files"].split()):
            found = (" ; ".join(x.strip() for x in p.get("copyright", "unknown").splitlines() if x.strip()),
                     p.get("license", "unknown").splitlines()[0].strip())
    return found


def album_credits(package_root: Path) -> dict[str, dict[str, str]]:
    """Per-file title/author from ``album.json`` files (warzone2100-music ships them)."""
    out: dict[str, dict[str, str]] = {}
    for album in sorted(package_root.rglob("album.json")):
        try:
            meta = json.loads(album.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        note = ""
        lic = album.parent / "license.txt"
        if lic.exists():
            first = [ln.strip() for ln in lic.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
            note = " ".join(first[:4])
        for t in meta.get("tracks", []):
            out[str(t.get("filename"))] = {"title": str(t.get("title", "")), "author": str(t.get("author", "")),
                                           "album": str(meta.get("title", "")), "album_licence": note}
    return out


# ---------------------------------------------------------------------- apt
def _run(cmd: list[str], cwd: Path | None = None) -> str:
    try:
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DevCorpusError(f"{cmd[0]} not found; this builder needs a Debian/Ubuntu system with apt") from None
    if res.returncode != 0:
        raise DevCorpusError(f"`{' '.join(cmd)}` failed: {(res.stderr or res.stdout).strip().splitlines()[-1:]}")
    return res.stdout


def download(packages: list[str], debs: Path) -> dict[str, Path]:
    """``apt-get download`` each package into ``debs`` (reusing .deb files already there)."""
    debs.mkdir(parents=True, exist_ok=True)
    have = {p.name.split("_")[0]: p for p in debs.glob("*.deb")}
    missing = [p for p in packages if p not in have]
    if missing:
        if os.geteuid() != 0:
            raise DevCorpusError("run as root: downloading the packages needs `apt-get update` "
                                 f"and `apt-get download` (missing: {', '.join(missing)})")
        _run(["apt-get", "update"])
        _run(["apt-get", "download", *missing], cwd=debs)
        have = {p.name.split("_")[0]: p for p in debs.glob("*.deb")}
    lost = [p for p in packages if p not in have]
    if lost:
        raise DevCorpusError(f"apt-get did not download: {', '.join(lost)}")
    return {p: have[p] for p in packages}


def deb_version(deb: Path) -> str:
    return _run(["dpkg-deb", "-f", str(deb), "Version"]).strip()


def extract(deb: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    _run(["dpkg-deb", "-x", str(deb), str(into)])
    return into


# ---------------------------------------------------------------------- build
def source_tracks(source: Source, package_root: Path, min_track_s: float) -> list[tuple[Path, float]]:
    """Audio files of ``source`` with their duration, those at least ``min_track_s`` long."""
    import soundfile as sf

    folder = package_root / source.folder
    if not folder.is_dir():
        raise DevCorpusError(f"{source.package}: no folder {source.folder} in the package")
    out = []
    for f in sorted(folder.rglob("*")):
        if f.suffix.lower() not in AUDIO_EXTENSIONS or not f.is_file():
            continue
        try:
            duration = sf.info(os.fsencode(f)).duration
        except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
            print(f"  skip {f.name}: not readable ({exc})", file=sys.stderr)
            continue
        if duration >= min_track_s:
            out.append((f, float(duration)))
    return out


def build(packages: dict[str, Path], out: Path, versions: dict[str, str] | None = None, *,
          sources=SOURCES, clip_s: float = 30.0, per_track: int = 3, sample_rate: int = 22050,
          min_track_s: float = 40.0, margin_s: float = 5.0, silence_rms: float = 1e-3, seed: int = 0) -> dict:
    """Cut the clips of already-extracted ``packages`` (name -> extracted root) into ``out``."""
    from musiclatent.corpus.audio import write_audio
    from musiclatent.corpus.splits import assign_splits
    from musiclatent.fileio import atomic_write_text, safe_name

    check_sources(sources)
    versions = versions or {}
    rows, credits, skipped = [], [], []
    for source in sources:
        root = packages[source.package]
        copyright_file = root / "usr/share/doc" / source.package / "copyright"
        text = copyright_file.read_text(encoding="utf-8", errors="replace") if copyright_file.exists() else ""
        if text:
            (out / "licenses").mkdir(parents=True, exist_ok=True)
            atomic_write_text(out / "licenses" / f"{source.package}.copyright", text)
        paragraphs = parse_copyright(text)
        albums = album_credits(root)
        alias = dict(source.same_music)
        tracks = source_tracks(source, root, min_track_s)
        print(f"{source.package}: {len(tracks)} source tracks", file=sys.stderr)
        for f, duration in tracks:
            rel = f.relative_to(root).as_posix()
            owner, licence = file_licence(paragraphs, rel)
            album = albums.get(f.name, {})
            group = f"{source.label}/{safe_name(alias.get(f.stem, f.stem))}"
            clips = 0
            for i, start in enumerate(clip_starts(duration, clip_s, per_track, margin_s)):
                wave = read_clip(f, start, clip_s, sample_rate)
                rms = float(np.sqrt(np.mean(wave.astype(np.float64) ** 2)))
                if rms < silence_rms:
                    skipped.append(f"{rel} @ {start:.1f} s: near-silent (RMS {rms:.1e})")
                    continue
                clip_rel = f"{source.label}/{safe_name(f.stem)}__{i:02d}.wav"
                write_audio(out / clip_rel, wave, sample_rate)
                rows.append({"path": clip_rel, "label": source.label, "source_track": group,
                             "package": source.package, "source_file": rel, "start_s": f"{start:.3f}",
                             "duration_s": f"{clip_s:.3f}"})
                clips += 1
            credits.append({"package": source.package, "version": versions.get(source.package, ""),
                            "file": rel, "duration_s": duration, "clips": clips, "copyright": owner,
                            "licence": licence, **album})
    if not rows:
        raise DevCorpusError("no clip was written (no readable source track long enough)")
    groups = sorted({r["source_track"] for r in rows})
    group_label = {r["source_track"]: r["label"] for r in rows}
    split_of = dict(zip(groups, assign_splits(groups, [group_label[g] for g in groups], seed=seed), strict=True))
    for r in rows:
        r["split"] = split_of[r["source_track"]]
    columns = ["path", "label", "split", "source_track", "package", "source_file", "start_s", "duration_s"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out / "labels.csv", buf.getvalue())
    atomic_write_text(out / "LICENSES.md", licenses_md(credits, skipped, clip_s, per_track, sample_rate))
    summary = {"clips": len(rows), "source_tracks": len(groups),
               "labels": {lab: sum(r["label"] == lab for r in rows) for lab in sorted(group_label.values())},
               "splits_tracks": {s: sum(v == s for v in split_of.values()) for s in ("train", "validation", "test")},
               "splits_clips": {s: sum(r["split"] == s for r in rows) for s in ("train", "validation", "test")},
               "skipped": skipped}
    return summary


def licenses_md(credits: list[dict], skipped: list[str], clip_s: float, per_track: int, rate: int) -> str:
    lines = ["# Licences of the development corpus", "",
             f"Clips of {clip_s:g} s (up to {per_track} per source track, {rate} Hz mono 16-bit WAV) cut from "
             "the music of these Debian packages by `python -m benchmarks.devcorpus`. Licence and copyright "
             "come from each package's `/usr/share/doc/<package>/copyright` (copied under `licenses/`); "
             "`album.json`/`license.txt` credits are added where the package ships them. The clips are "
             "excerpts (adaptations by cutting, downmixing and resampling) distributed under the same licence "
             "as their source file.", ""]
    for pkg in dict.fromkeys(c["package"] for c in credits):
        mine = [c for c in credits if c["package"] == pkg]
        lines += [f"## {pkg} {mine[0]['version']}".rstrip(), "",
                  "| file | length | clips | licence | copyright / author |", "|---|---|---|---|---|"]
        for c in mine:
            who = c["copyright"]
            if c.get("author"):
                who = f"{c['author']} ({c.get('title', '')}, album {c.get('album', '')}); package: {who}"
                if c.get("album_licence"):
                    who += f"; album licence: {c['album_licence']}"
            cell = who.replace("|", "/")
            lines.append(f"| `{c['file']}` | {c['duration_s']:.0f} s | {c['clips']} | {c['licence']} | {cell} |")
        lines.append("")
    if skipped:
        lines += ["## Skipped excerpts", "", *[f"- {s}" for s in skipped], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.devcorpus", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="folder to build the corpus in (outside the repository)")
    ap.add_argument("--debs", type=Path, default=None,
                    help="where the .deb files are kept/reused (default OUT/.debs; hidden from corpus scans)")
    ap.add_argument("--clips-per-track", type=int, default=3)
    ap.add_argument("--clip-seconds", type=float, default=30.0)
    ap.add_argument("--sample-rate", type=int, default=22050)
    ap.add_argument("--seed", type=int, default=0, help="seed of the per-source-track split")
    ap.add_argument("--force", action="store_true", help="rebuild into an OUT that already holds a corpus")
    args = ap.parse_args(argv)
    out = args.out.expanduser().resolve()
    try:
        check_sources()
        if (out / "READY").exists() or (out / "labels.csv").exists():
            if not args.force:
                raise DevCorpusError(f"{out} already holds a corpus; pass --force to rebuild it")
            (out / "READY").unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        packages = [s.package for s in SOURCES]
        debs = download(packages, args.debs or out / ".debs")
        versions = {p: deb_version(d) for p, d in debs.items()}
        with tempfile.TemporaryDirectory(prefix=".devcorpus-", dir=out) as tmp:
            roots = {p: extract(d, Path(tmp) / p) for p, d in debs.items()}
            summary = build(roots, out, versions, clip_s=args.clip_seconds, per_track=args.clips_per_track,
                            sample_rate=args.sample_rate, seed=args.seed)
        (out / "READY").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    except DevCorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({k: v for k, v in summary.items() if k != "skipped"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
