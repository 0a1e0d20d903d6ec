"""Discovery (layouts, labels CSV), manifests and load_manifest."""

from __future__ import annotations

import pytest
from corpus_helpers import gtzan_like, sine, write

from musiclatent.corpus import manifest as manifest_mod
from musiclatent.corpus.discover import discover
from musiclatent.corpus.errors import CorpusError
from musiclatent.corpus.manifest import Manifest, scan_corpus
from musiclatent.workspace import Workspace, load_manifest


def test_gtzan_layouts(tmp_path):
    gtzan_like(tmp_path / "a" / "genres", per_genre=1, seconds=0.2)
    found = discover(tmp_path / "a")
    assert found.layout == "gtzan"
    assert [(t.track_id, t.label) for t in found.tracks] == [
        ("genres/blues/blues.00000", "blues"), ("genres/jazz/jazz.00000", "jazz")]
    found = discover(tmp_path / "a" / "genres")
    assert [t.track_id for t in found.tracks] == ["blues/blues.00000", "jazz/jazz.00000"]


def test_any_folder_is_recursive_and_unlabelled(tmp_path):
    root = tmp_path / "lib"
    write(root / "Artist" / "Album" / "01 Song.wav", sine(0.1, 22050))
    write(root / "loose.wav", sine(0.1, 22050))
    write(root / ".hidden" / "x.wav", sine(0.1, 22050))
    (root / "cover.jpg").write_bytes(b"\xff\xd8")
    found = discover(root)
    assert [(t.track_id, t.label) for t in found.tracks] == [("Artist/Album/01 Song", None), ("loose", None)]


def test_labels_csv_missing_extra_duplicate_rows(tmp_path):
    root = tmp_path / "lib"
    for name in ("a", "b", "c", "sub/d"):
        write(root / f"{name}.wav", sine(0.1, 22050))
    csv = tmp_path / "labels.csv"
    csv.write_text("path,label\na.wav,rock\n./b.wav,jazz\nsub/d,rock\nghost.wav,pop\na.wav,pop\n")
    m = scan_corpus(root, labels_csv=csv, progress=False)
    labels = dict(zip(m.tracks["track_id"], m.tracks["label"], strict=True))
    assert labels == {"a": "rock", "b": "jazz", "c": None, "sub/d": "rock"}
    problems = dict(zip(m.problems["path"], m.problems["reason"], strict=True))
    assert "no such audio file" in problems["ghost.wav"]
    assert "duplicate row" in problems["a.wav"] and "conflicting label" in problems["a.wav"]
    assert "no row in labels CSV" in problems["c.wav"]
    assert m.labels == ["jazz", "rock"]


def test_labels_csv_split_column_overrides_the_seeded_split(tmp_path):
    root = tmp_path / "lib"
    names = [f"t{i}" for i in range(12)]
    for name in names:
        write(root / f"{name}.wav", sine(0.1, 22050))
    csv = tmp_path / "labels.csv"
    given = {"t0": "test", "t1": "TEST", "t2": "validation", "t3": "train", "t4": "holdout"}
    csv.write_text("path,label,split\n" + "".join(f"{n}.wav,x,{given.get(n, '')}\n" for n in names))
    m = scan_corpus(root, labels_csv=csv, progress=False)
    split = dict(zip(m.tracks["track_id"], m.tracks["split"], strict=True))
    assert split["t0"] == split["t1"] == "test" and split["t2"] == "validation" and split["t3"] == "train"
    seeded = dict(zip(m.tracks["track_id"], scan_corpus(root, labels_csv=None, progress=False).tracks["split"],
                      strict=True))
    assert all(split[n] == seeded[n] for n in names if n not in given)  # blank: assigned by seed
    assert split["t4"] == seeded["t4"]
    problems = dict(zip(m.problems["path"], m.problems["reason"], strict=True))
    assert "names split 'holdout'" in problems["t4.wav"]
    assert set(Manifest.load(m.save(tmp_path / "m.parquet")).tracks["split"]) <= {"train", "validation", "test"}


def test_bad_labels_csv_is_a_clear_error(tmp_path):
    write(tmp_path / "lib" / "a.wav", sine(0.1, 22050))
    bad = tmp_path / "bad.csv"
    bad.write_text("file,genre\na.wav,rock\n")
    with pytest.raises(CorpusError, match="needs a header with columns 'path' and 'label'"):
        discover(tmp_path / "lib", bad)
    with pytest.raises(CorpusError, match="does not exist"):
        discover(tmp_path / "nope")


def test_colliding_ids_keep_extension(tmp_path):
    import soundfile as sf

    write(tmp_path / "c" / "x.wav", sine(0.1, 22050))
    sf.write(tmp_path / "c" / "x.flac", sine(0.1, 22050), 22050)
    assert sorted(t.track_id for t in discover(tmp_path / "c").tracks) == ["x.flac", "x.wav"]


def test_single_file_corpus(tmp_path):
    path = write(tmp_path / "song.wav", sine(0.3, 22050))
    m = scan_corpus(path, progress=False)
    assert m.root == tmp_path and list(m.tracks["track_id"]) == ["song"]
    assert list(m.tracks["split"]) == ["train"]


def test_manifest_load_rejects_other_files(tmp_path):
    (tmp_path / "x.parquet").write_text("nope")
    with pytest.raises(CorpusError, match="not a readable manifest"):
        Manifest.load(tmp_path / "x.parquet")
    with pytest.raises(CorpusError, match="corpus scan"):
        Manifest.load(tmp_path / "missing.parquet")


def test_load_manifest_reuses_until_files_change(tmp_path, monkeypatch):
    root = gtzan_like(tmp_path / "c", per_genre=2, seconds=0.3)
    ws = Workspace.open(tmp_path / "ws")
    scans = []
    real = manifest_mod.scan_corpus
    monkeypatch.setattr(manifest_mod, "scan_corpus", lambda *a, **k: scans.append(a) or real(*a, **k))
    first = load_manifest(ws, data=root, progress=False)
    assert len(scans) == 1 and ws.settings()["corpus"] == str(root)
    assert load_manifest(ws, data=root, progress=False).tracks.equals(first.tracks) and len(scans) == 1
    assert load_manifest(ws, progress=False).tracks.equals(first.tracks) and len(scans) == 1
    write(root / "jazz" / "jazz.00009.wav", sine(0.3, 22050))
    again = load_manifest(ws, data=root, progress=False)
    assert len(scans) == 2 and len(again.tracks) == 5


def test_load_manifest_keeps_the_remembered_labels_csv_of_the_same_corpus(tmp_path):
    root = gtzan_like(tmp_path / "c", per_genre=3, seconds=0.3)
    csv = tmp_path / "labels.csv"
    rows = [f"{g}/{g}.{i:05d}.wav,{g}x,{'test' if i == 0 else 'train'}" for g in ("blues", "jazz") for i in range(3)]
    csv.write_text("path,label,split\n" + "\n".join(rows) + "\n")
    ws = Workspace.open(tmp_path / "ws")
    load_manifest(ws, data=root, labels_csv=csv, progress=False)
    again = load_manifest(ws, data=root, progress=False)  # e.g. `train --data c` after `corpus scan c --labels`
    assert again.labels == ["bluesx", "jazzx"] and sorted(again.split("test")["track_id"]) == [
        "blues/blues.00000", "jazz/jazz.00000"]
    other = gtzan_like(tmp_path / "d", per_genre=2, seconds=0.3)
    assert load_manifest(ws, data=other, progress=False).labels == ["blues", "jazz"]  # another corpus: no CSV


def test_load_manifest_without_anything_is_a_clear_error(tmp_path):
    from musiclatent.workspace import WorkspaceError

    with pytest.raises(WorkspaceError, match="corpus scan"):
        load_manifest(Workspace.open(tmp_path / "empty-ws"), progress=False)
