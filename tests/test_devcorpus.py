"""benchmarks/devcorpus.py: clip placement, licences from DEP-5 files, per-source-track splits."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from corpus_helpers import sine, write

from musiclatent.corpus.manifest import scan_corpus

# benchmarks/ is a folder of scripts at the repository root, importable only from there: load by path
_spec = importlib.util.spec_from_file_location(
    "benchmarks_devcorpus", Path(__file__).resolve().parents[1] / "benchmarks" / "devcorpus.py")
dc = sys.modules.setdefault("benchmarks_devcorpus", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(dc)

COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: game

Files: *
Copyright: 2011 Main Author
License: GPL-2+

Files: music/b-*.ogg
       music/c.wav
Copyright: Guest Composer (http://example.org)
 2012 Someone Else
License: CC-BY-SA-3.0

License: GPL-2+
 This program is free software
"""


def test_clip_starts_spread_and_never_overlap():
    assert dc.clip_starts(20.0, 30.0) == []
    assert dc.clip_starts(30.0, 30.0) == [0.0]
    assert dc.clip_starts(50.0, 30.0, per_track=3) == [10.0]            # one fits between margins
    s = dc.clip_starts(300.0, 30.0, per_track=3)
    assert s[0] == 5.0 and s[-1] == 265.0 and len(s) == 3
    assert all(b - a >= 30.0 for a, b in zip(s, s[1:], strict=False))


def test_reserved_packages_are_refused():
    assert not [s.package for s in dc.SOURCES if dc.is_reserved(s.package)]
    with pytest.raises(dc.DevCorpusError, match="reserved"):
        dc.check_sources([dc.Source("nexuiz-music", "n", "x")])
    assert dc.is_reserved("wesnoth-1.18-music")


def test_licence_of_an_installed_file_is_the_last_matching_stanza():
    paragraphs = dc.parse_copyright(COPYRIGHT)
    assert dc.file_licence(paragraphs, "usr/share/game/music/b-one.ogg") == (
        "Guest Composer (http://example.org) ; 2012 Someone Else", "CC-BY-SA-3.0")
    assert dc.file_licence(paragraphs, "usr/share/game/music/a.ogg") == ("2011 Main Author", "GPL-2+")


def test_build_cuts_clips_and_splits_by_source_track(tmp_path):
    pkg = tmp_path / "x" / "game-music"
    music = pkg / "usr/share/game/music"
    rng = np.random.default_rng(0)
    for name in ["a", "b-one", "c", "d", "e", "f", "g", "g_remix"]:
        write(music / f"{name}.wav", (0.2 * rng.standard_normal(int(22050 * 4.5))).astype(np.float32), 22050)
    write(music / "short.wav", sine(1.0, 22050), 22050)                 # shorter than min_track_s
    write(music / "quiet.wav", np.zeros(22050 * 5, np.float32), 22050)  # all clips near-silent
    doc = pkg / "usr/share/doc/game-music"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(COPYRIGHT)
    source = dc.Source("game-music", "game", "usr/share/game/music", same_music=(("g_remix", "g"),))
    out = tmp_path / "corpus"
    summary = dc.build({"game-music": pkg}, out, {"game-music": "1.0-1"}, sources=(source,),
                       clip_s=1.0, per_track=2, min_track_s=1.5, margin_s=0.2, sample_rate=16000)
    rows = list(csv.DictReader(open(out / "labels.csv", encoding="utf-8")))
    assert summary["clips"] == len(rows) == 16 and summary["source_tracks"] == 7  # g and g_remix: one track
    assert len(summary["skipped"]) == 2 and "quiet.wav" in summary["skipped"][0]
    assert not any("short" in r["path"] for r in rows)
    by_track: dict[str, set[str]] = {}
    for r in rows:
        by_track.setdefault(r["source_track"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_track.values())                  # no track straddles splits
    assert {"train", "validation", "test"} <= {next(iter(s)) for s in by_track.values()}
    assert {r["split"] for r in rows if "g_remix" in r["path"]} == {r["split"] for r in rows if "/g__" in r["path"]}
    licences = (out / "LICENSES.md").read_text()
    assert "## game-music 1.0-1" in licences and "| `usr/share/game/music/b-one.wav` |" in licences
    assert "CC-BY-SA-3.0 | Guest Composer" in licences and "GPL-2+ | 2011 Main Author" in licences
    assert (out / "licenses/game-music.copyright").read_text() == COPYRIGHT
    m = scan_corpus(out, labels_csv=out / "labels.csv", progress=False)
    assert len(m.tracks) == 16 and m.problems.empty
    assert set(m.tracks["sample_rate"]) == {16000} and set(m.tracks["frames"]) == {16000}
    got = dict(zip(m.tracks["path"], m.tracks["split"], strict=True))
    assert got == {r["path"]: r["split"] for r in rows}                 # the corpus layer keeps the CSV split


def test_download_needs_root_and_an_existing_corpus_needs_force(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(dc.os, "geteuid", lambda: 1000)
    with pytest.raises(dc.DevCorpusError, match="run as root"):
        dc.download(["asc-music"], tmp_path / "debs")
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "labels.csv").write_text("path,label\n")
    assert dc.main(["--out", str(out)]) == 1
    assert "already holds a corpus; pass --force" in capsys.readouterr().err
    assert (out / "labels.csv").read_text() == "path,label\n"           # nothing lost
