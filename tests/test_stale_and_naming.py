"""Errors name the output the user chose, not a hidden staging file; leftovers of killed runs
(staging ``.tmp`` files and ``.report.*.tmp`` folders) are cleaned by the next run (issue 17, item 6)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from test_readonly_diskfull import _one_line_error, disk_full, ws  # noqa: F401 - ws is a fixture

from musiclatent.cli import cli
from musiclatent.locks import remove_stale


@pytest.mark.parametrize("argv,sub,name", [
    (["report", "--preview-seconds", "0"], "report", "report/"),
    (["analyze", "pca", "--format", "html"], "analyses", "analyses/pca/"),
])
def test_disk_full_names_the_output_file_not_the_staging_folder(ws, monkeypatch, argv, sub, name):  # noqa: F811
    workspace, _ = ws
    disk_full(monkeypatch, workspace / sub if sub != "report" else workspace)
    res = CliRunner().invoke(cli, argv)
    monkeypatch.undo()
    _one_line_error(res, "disk full", str(workspace / name))
    assert ".tmp" not in res.output, res.output


def _age(path, seconds=3600):
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_stale_staging_folders_go_and_a_live_one_stays(tmp_path):
    stale, live, young = (tmp_path / f".report.{n}.tmp" for n in ("dead", "live", "young"))
    for folder in (stale, live, young):
        (folder / "assets").mkdir(parents=True)
        (folder / "assets" / "x.ogg").write_bytes(b"x")
    for folder in (stale, live):
        _age(folder)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom musiclatent.locks import held\n"
                               f"with held({str(live)!r}):\n    print('held', flush=True)\n    time.sleep(60)\n"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        removed = remove_stale(tmp_path, ".report.*.tmp", older_than=time.time() - 60)
    finally:
        holder.kill()
        holder.wait()
    assert removed == [stale] and not stale.exists() and live.exists() and young.exists()


def test_report_and_encode_clean_what_a_killed_run_left(ws):  # noqa: F811
    from latent_fakes import FAKE

    workspace, _ = ws
    staging = workspace / ".report.k1ll3d.tmp"
    (staging / "tracks").mkdir(parents=True)
    table = workspace / "latents" / f"{FAKE}.parquet"
    final_tmp = table.with_name(f".{table.name}.tmp")
    final_tmp.write_bytes(b"half a parquet file")
    for path in (staging, final_tmp):
        _age(path)
    res = CliRunner().invoke(cli, ["report", "--preview-seconds", "0"])
    assert res.exit_code == 0, res.output
    assert not staging.exists() and (workspace / "report" / "index.html").is_file()
    res = CliRunner().invoke(cli, ["encode", "--model", FAKE, "--device", "cpu", "-q", "--no-resume"])
    assert res.exit_code == 0, res.output
    assert not final_tmp.exists()
