"""SIGKILL the real ``musiclatent`` CLI during encode, grid search and report writing, then restart.

Each test starts the command in a subprocess with a workspace under ``tmp_path``, waits for a
progress marker (a part file, a metrics line, a marker file written by a slowed-down step), kills
it with SIGKILL and checks that (1) nothing half-written is read as complete and (2) the restarted
command gives the same result as an uninterrupted run. Training is covered the same way by
``tests/test_training.py::test_cli_train_killed_during_epoch_2_then_resumed_matches_uninterrupted``.

The subprocess runs ``musiclatent.cli.main`` after a small prelude that only slows a step down
(``time.sleep`` in a hook) so the kill lands where the test wants it, never changing what is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from corpus_helpers import alt5_corpus_and_checkpoint

from musiclatent.cli import cli

pytestmark = pytest.mark.slow

WAIT_S = 240  # generous: CI has 2 shared cores; the tests never assert on time


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MUSICLATENT_WORKSPACE": str(tmp_path / "ws")}


def _start(tmp_path: Path, prelude: str, args: list[str]) -> subprocess.Popen:
    code = "import sys, time\n" + prelude + "\nfrom musiclatent.cli import main\nmain(sys.argv[1:])\n"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _kill_when(proc: subprocess.Popen, ready) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` is true; fail if it ends first."""
    deadline = time.monotonic() + WAIT_S
    while not ready():
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"process ended (rc {proc.returncode}) before the kill point:\n{out}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("kill point never reached")
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _invoke(workspace: Path, args: list[str]):
    return CliRunner().invoke(cli, ["--workspace", str(workspace), *args])


# --------------------------------------------------------------------------------------- encode
@pytest.fixture
def alt5_setup(tmp_path):
    """A 6-track corpus of 2 s clips (one broken file) and an untrained alt5 checkpoint (1 s segments)."""
    return alt5_corpus_and_checkpoint(tmp_path, broken_file=True)


def test_encode_killed_then_rerun_equals_uninterrupted_row_for_row(tmp_path, alt5_setup):
    from musiclatent.latents.table import LatentTable, LatentTableError, partial_path

    corpus, ckpt = alt5_setup
    out = tmp_path / "killed.parquet"
    args = ["encode", "--checkpoint", str(ckpt), "--data", str(corpus), "--out", str(out), "--batch-size", "2", "-q"]
    # flush after every batch (a part file per track) and linger after each track so the kill lands mid-run
    prelude = ("import musiclatent.latents.encode as e\n"
               "e.FLUSH_SECONDS = 0.0\n"
               "e._track_written = lambda track_id: time.sleep(0.4)\n")
    proc = _start(tmp_path, prelude, args)
    partial = partial_path(out)
    _kill_when(proc, lambda: len(list(partial.glob("part-*.parquet"))) >= 2)

    assert not out.exists()  # no final table from the killed run
    with pytest.raises(LatentTableError, match="interrupted encode"):
        LatentTable.open(out)
    info = _invoke(tmp_path / "ws", ["latents", "info", str(out)])
    assert info.exit_code != 0 and "Traceback" not in info.output

    resumed = _invoke(tmp_path / "ws", args)
    assert resumed.exit_code == 0, resumed.output
    assert "resuming killed.parquet" in resumed.output and "already encoded" in resumed.output
    assert not partial.exists()

    full = _invoke(tmp_path / "ws", ["encode", "--checkpoint", str(ckpt), "--data", str(corpus),
                              "--out", str(tmp_path / "full.parquet"), "--batch-size", "2", "-q"])
    assert full.exit_code == 0, full.output
    a = LatentTable.open(tmp_path / "full.parquet").validate(deep=True)
    b = LatentTable.open(out).validate(deep=True)
    lat_a, rows_a = a.segment_matrix()
    lat_b, rows_b = b.segment_matrix()
    pd.testing.assert_frame_equal(rows_a, rows_b)
    np.testing.assert_allclose(lat_a, lat_b, rtol=1e-5, atol=1e-6)
    assert a.num_rows == b.num_rows == 12  # 6 tracks x 2 segments
    assert [p["path"] for p in a.problems] == [p["path"] for p in b.problems] == ["genres/rock/broken.wav"]


# ---------------------------------------------------------------------------------- grid search
def test_gridsearch_killed_then_rerun_reuses_finished_runs(tmp_path, tiny_corpus):
    from musiclatent.training.trainer import train

    torch.set_num_threads(1)
    grid = tmp_path / "grid"
    common = ["--data", str(tiny_corpus), "--segment-seconds", "1", "--max-segments", "8", "--batch-size", "4",
              "--no-cache"]
    args = ["gridsearch", "--models", "alt5", "--lrs", "0.01,0.002", "--epochs", "1,3", *common, "--out", str(grid)]
    # linger after each epoch's metrics line so the kill lands inside the second run
    prelude = ("import musiclatent.training.state as s\n"
               "_append = s.MetricsLog.append\n"
               "def append(self, row):\n"
               "    _append(self, row)\n"
               "    time.sleep(0.5)\n"
               "s.MetricsLog.append = append\n")
    first, second = grid / "alt5-lr0.01", grid / "alt5-lr0.002"

    def second_run_in_epoch_2() -> bool:
        metrics = second / "metrics.jsonl"
        return metrics.exists() and metrics.read_text().count("\n") >= 1

    proc = _start(tmp_path, prelude, args)
    _kill_when(proc, second_run_in_epoch_2)
    assert json.loads((first / "run.json").read_text())["status"] == "finished"
    assert json.loads((second / "run.json").read_text())["status"] == "running"  # killed: no final status
    assert not (grid / "gridsearch.csv").exists()
    first_files = _tree_digest(first)

    rerun = _invoke(tmp_path / "ws", args)
    assert rerun.exit_code == 0, rerun.output
    assert "2 run(s), 1 trained now, 1 reused" in rerun.output
    assert _tree_digest(first) == first_files  # the finished run was not touched
    table = pd.read_csv(grid / "gridsearch.csv")
    by_lr = table.drop_duplicates("lr").set_index("lr")["retrained"]
    assert not by_lr[0.01] and by_lr[0.002]
    assert table["epochs_done"].min() >= 1 and table["best_val_loss"].notna().all()

    # the resumed run ends where an uninterrupted run of the same configuration ends
    whole = train("alt5", workspace=tmp_path / "ws", data=tiny_corpus, out_dir=tmp_path / "whole", epochs=3,
                  lr=0.002, segment_seconds=1.0, max_train_segments=8, batch_size=4, progress=False,
                  charts=False, cache=False)
    resumed_rows = [json.loads(line) for line in (second / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in resumed_rows] == [1, 2, 3]
    for x, y in zip(whole.history, resumed_rows, strict=True):
        assert x["val_loss"] == pytest.approx(y["val_loss"], rel=1e-5)


# ---------------------------------------------------------------------------------------- report
@pytest.fixture
def report_ws(tmp_path):
    from report_helpers import make_workspace

    from musiclatent.report.build import build_report

    ws, _ = make_workspace(tmp_path)
    index = build_report(ws, preview_seconds=0)
    return ws, index.parent


def _is_complete_report(folder: Path) -> bool:
    return (folder / "index.html").is_file() and (folder / "report.json").is_file() and \
        (folder / "index.html").read_text().rstrip().endswith("</html>")


@pytest.mark.parametrize("where", ["building", "after_swap"])
def test_report_killed_leaves_old_or_new_complete(tmp_path, report_ws, where):
    ws, folder = report_ws
    before = _tree_digest(folder)
    marker = tmp_path / "marker"
    if where == "building":  # killed while the new report is being written (after all its files exist)
        prelude = ("import musiclatent.report.build as b\n"
                   "_readable = b._readable\n"
                   "def slow(folder):\n"
                   "    _readable(folder)\n"
                   f"    open({str(marker)!r}, 'w').close()\n"
                   "    time.sleep(60)\n"
                   "b._readable = slow\n")
    else:  # killed right after the new report was swapped in, (the old one already removed)
        prelude = ("import musiclatent.report.build as b\n"
                   "_swap_folder = b.swap_folder\n"
                   "def slow(staging, folder):\n"
                   "    _swap_folder(staging, folder)\n"
                   f"    open({str(marker)!r}, 'w').close()\n"
                   "    time.sleep(60)\n"
                   "b.swap_folder = slow\n")
    # the new report differs from the old one: one more analysis with a new table
    extra = ws.root / "analyses" / "probe" / "probe_scores.csv"
    extra.write_text(extra.read_text() + "extra row,0.5\n")
    proc = _start(tmp_path, prelude, ["--workspace", str(ws.root), "report", "--preview-seconds", "0"])
    _kill_when(proc, marker.exists)

    assert _is_complete_report(folder)
    after = _tree_digest(folder)
    if where == "building":
        assert after == before  # the previous report, untouched
    else:
        assert after != before and any("extra row" in p.read_text(errors="replace")
                                       for p in folder.rglob("*.csv"))
    rebuilt = _invoke(ws.root, ["report", "--preview-seconds", "0"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert _is_complete_report(folder)
