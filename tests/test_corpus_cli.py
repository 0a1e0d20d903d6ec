"""`musiclatent corpus scan` and `musiclatent corpus synth` through click's CliRunner."""

from __future__ import annotations

import json

from click.testing import CliRunner
from corpus_helpers import gtzan_like

from musiclatent.cli import cli
from musiclatent.corpus.manifest import Manifest
from musiclatent.workspace import Workspace


def test_scan_prints_summary_and_problems(tmp_path):
    root = gtzan_like(tmp_path / "c", per_genre=3, seconds=0.5)
    (root / "jazz" / "broken.wav").write_text("<html>not audio</html>")
    ws = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["-w", str(ws), "corpus", "scan", str(root), "--sample-rate", "16000"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "6 tracks" in out and "blues 3, jazz 3" in out and "train 4, validation 1, test 1" in out
    assert "22050 Hz x6 (resampled to 16000 Hz)" in out
    assert "jazz/broken.wav: not a readable audio file" in out
    settings = Workspace.open(ws).settings()
    assert settings["corpus"] == str(root) and settings["labels"] == ["blues", "jazz"]
    assert settings["sample_rate"] == 16000
    m = Manifest.load(ws / "manifest.parquet")
    assert len(m.tracks) == 6 and m.sample_rate == 16000


def test_scan_json_and_labels(tmp_path):
    root = gtzan_like(tmp_path / "c", per_genre=2, seconds=0.2)
    csv = tmp_path / "labels.csv"
    csv.write_text("path,label\nblues/blues.00000.wav,slow\n")
    result = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "corpus", "scan", str(root),
                                      "--labels", str(csv), "--quick", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["tracks"] == 4 and doc["tracks_per_label"] == {"(unlabelled)": 3, "slow": 1}
    assert sum("no row in labels CSV" in p["reason"] for p in doc["problem_files"]) == 3


def test_scan_errors_are_one_line(tmp_path):
    gtzan_like(tmp_path / "c", per_genre=1, seconds=0.2)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n")
    result = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "corpus", "scan", str(tmp_path / "c"),
                                      "--labels", str(bad)])
    assert result.exit_code == 1
    assert "Error:" in result.output and "'path' and 'label'" in result.output
    assert "Traceback" not in result.output


def test_synth_then_scan(tmp_path):
    out = tmp_path / "synth"
    result = CliRunner().invoke(cli, ["corpus", "synth", str(out), "--tracks-per-genre", "1",
                                      "--seconds", "0.5", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "Wrote 10 tracks" in result.output
    result = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "corpus", "scan", str(out), "--json"])
    doc = json.loads(result.output)
    assert doc["tracks"] == 10 and len(doc["tracks_per_label"]) == 10 and doc["problems"] == 0


def test_corpus_help_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; from musiclatent.cli import main\n"
            "try:\n    main(['corpus', 'scan', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules and 'pandas' not in sys.modules, 'heavy import'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--quick" in result.stdout


def test_problem_names_print_on_one_line(tmp_path):
    import os

    root = gtzan_like(tmp_path / "c", per_genre=1, seconds=0.2)
    (root / "two\nlines.wav").write_text("not audio")
    with open(os.path.join(os.fsencode(root), b"caf\xe9.wav"), "wb") as fh:
        fh.write(b"x")
    result = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "corpus", "scan", str(root)])
    assert result.exit_code == 0, result.output
    assert "two\\nlines.wav: not a readable audio file" in result.output
    assert "caf\\xe9.wav: file name is not valid UTF-8" in result.output


def test_scan_of_folder_without_audio_fails_clearly(tmp_path):
    root = tmp_path / "c"
    root.mkdir()
    (root / "bad.wav").write_text("text")
    result = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "corpus", "scan", str(root)])
    assert result.exit_code == 1
    assert "no usable audio files" in result.output and "bad.wav: not a readable audio file" in result.output
    assert not (tmp_path / "ws" / "manifest.parquet").exists()
