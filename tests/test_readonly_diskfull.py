"""A full disk or a read-only output folder: one clear line naming the output, nothing corrupted.

How the faults are made: the tests run as root in CI containers, and root ignores ``chmod 0o555``;
mounting a tiny tmpfs needs privileges CI does not have. So the faults are injected in-process
where the operating system would report them:

* disk full: ``os.fsync`` raises ``ENOSPC`` for files under the output folder (ext4/xfs with
  delayed allocation report a full disk at fsync; every musiclatent writer fsyncs before its
  rename, so this is the last moment a write can fail);
* read-only: ``os.mkdir``, ``tempfile.mkstemp``/``mkdtemp``, ``os.replace`` and ``open(..., "w")``
  raise ``EROFS`` for paths under the output folder (the first write of every writer is one of
  these; pyarrow writes only into folders created through ``os.mkdir``).

docs/reliability.md records the same checks made once on a real 1 MiB tmpfs and on a read-only
mount.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import os
import tempfile
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from latent_fakes import FAKE, make_corpus, register_fake

from musiclatent.cli import cli


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _under(path, folder: Path) -> bool:
    try:
        return Path(os.fsdecode(path)).resolve().is_relative_to(folder.resolve())
    except (TypeError, ValueError):
        return False


def disk_full(monkeypatch, folder: Path) -> None:
    real = os.fsync

    def fsync(fd):
        if _under(os.readlink(f"/proc/self/fd/{fd}"), folder):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def read_only(monkeypatch, folder: Path) -> None:
    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

    def guard(real, path_of):
        def wrapper(*args, **kwargs):
            paths = path_of(*args, **kwargs)
            for path in paths if isinstance(paths, tuple) else (paths,):
                if path is not None and _under(path, folder):
                    refuse(path)
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(os, "mkdir", guard(os.mkdir, lambda p, *a, **k: p))
    monkeypatch.setattr(os, "replace", guard(os.replace, lambda src, dst, **k: (src, dst)))
    monkeypatch.setattr(tempfile, "mkstemp", guard(tempfile.mkstemp, lambda *a, **k: k.get("dir")))
    monkeypatch.setattr(tempfile, "mkdtemp", guard(tempfile.mkdtemp, lambda *a, **k: k.get("dir")))

    def open_path(file, mode="r", *a, **k):
        return file if isinstance(file, (str, bytes, os.PathLike)) and set(mode) & set("wax+") else None

    monkeypatch.setattr(builtins, "open", guard(builtins.open, open_path))


@pytest.fixture
def ws(tmp_path, fresh_plugins, monkeypatch):
    """A workspace with a corpus, a fake-model checkpoint, an encoded table and a pca analysis."""
    from latent_fakes import save_fake_checkpoint

    torch.set_num_threads(1)
    register_fake(fresh_plugins)
    root = make_corpus(tmp_path / "corpus", genres=("blues", "jazz", "rock", "metal"))
    ws = tmp_path / "ws"
    save_fake_checkpoint(ws / "runs" / FAKE / "best.safetensors")
    monkeypatch.setenv("MUSICLATENT_WORKSPACE", str(ws))
    res = CliRunner().invoke(cli, ["encode", "--model", FAKE, "--data", str(root), "--device", "cpu", "-q"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["analyze", "pca", "--format", "html"])
    assert res.exit_code == 0, res.output
    return ws, root


def _one_line_error(res, *needles: str) -> None:
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    lines = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, res.output
    for needle in needles:
        assert needle in lines[0], res.output


COMMANDS = {
    # name: (argv, the output folder it writes into, a file name the error must show);
    # the report is built in a sibling of report/ and swapped in, so its disk is the workspace's
    "encode": (["encode", "--model", FAKE, "--device", "cpu", "-q", "--no-resume"], "latents", f"{FAKE}.parquet"),
    "analyze": (["analyze", "pca", "--format", "html"], "analyses", "analyses"),
    "report": (["report", "--preview-seconds", "0"], ".", "ws"),
    "decode": (["decode", "--track", "genres/jazz/jazz.00000"], "decoded", "decoded"),
}


@pytest.mark.parametrize("fault", ["disk_full", "read_only"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_full_or_read_only_output_is_one_line_and_keeps_old_results(ws, monkeypatch, command, fault):
    workspace, _ = ws
    argv, sub, name = COMMANDS[command]
    target = workspace / sub
    if command in ("report", "decode"):  # make a previous result to protect
        res = CliRunner().invoke(cli, argv)
        assert res.exit_code == 0, res.output
    before = _digest(workspace)
    (disk_full if fault == "disk_full" else read_only)(monkeypatch, target)
    res = CliRunner().invoke(cli, argv)
    monkeypatch.undo()
    _one_line_error(res, name, "disk full" if fault == "disk_full" else "read-only file system")
    after = _digest(workspace)
    # every earlier result is byte for byte intact; nothing new but an encode's resumable parts
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert all(".partial/" in k for k in changed), changed


def test_encode_after_disk_full_resumes_and_completes(ws, monkeypatch, tmp_path):
    """Parts flushed before the disk filled up are kept; freeing space and rerunning finishes."""
    from musiclatent.latents.table import LatentTable

    workspace, root = ws
    out = tmp_path / "big.parquet"
    argv = ["encode", "--model", FAKE, "--device", "cpu", "-q", "--batch-size", "2", "--out", str(out)]
    monkeypatch.setattr("musiclatent.latents.encode.FLUSH_SECONDS", 0.0)  # a part after every batch
    real, calls = os.fsync, []

    def fsync(fd):  # the disk fills up after two part files
        if _under(os.readlink(f"/proc/self/fd/{fd}"), tmp_path) and len(calls) >= 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        calls.append(fd)
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    res = CliRunner().invoke(cli, argv)
    _one_line_error(res, "disk full", "big.parquet")
    assert not out.exists()
    monkeypatch.setattr(os, "fsync", real)
    res = CliRunner().invoke(cli, argv)
    assert res.exit_code == 0, res.output
    assert "resuming big.parquet: 2 tracks already encoded" in res.output
    first = LatentTable.open(workspace / "latents" / f"{FAKE}.parquet")
    again = LatentTable.open(out).validate(deep=True)
    assert again.tracks()["track_id"].tolist() == first.tracks()["track_id"].tolist()
    assert not list(tmp_path.glob(".big.parquet*"))


def test_swap_folder_replaces_a_folder_whole(tmp_path):
    from musiclatent.fileio import swap_folder

    new, cur = tmp_path / "staging", tmp_path / "report"
    new.mkdir()
    cur.mkdir()
    (new / "index.html").write_text("new")
    (cur / "index.html").write_text("old")
    (cur / "stale.txt").write_text("only in the old one")
    swap_folder(new, cur)
    assert (cur / "index.html").read_text() == "new"
    assert not (cur / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # nothing left beside it
    fresh = tmp_path / "staging2"
    fresh.mkdir()
    (fresh / "index.html").write_text("first")
    swap_folder(fresh, tmp_path / "absent")  # no folder yet: a plain rename
    assert (tmp_path / "absent" / "index.html").read_text() == "first"


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_swap_folder_replaces_a_file_or_link_whole(tmp_path, monkeypatch, exchange):
    """A folder swapped in over a one-file table (or a link) leaves nothing of the old one beside it."""
    from musiclatent import fileio

    if not exchange:
        monkeypatch.setattr(fileio, "_exchange", lambda a, b: False)
    for kind in ("file", "link"):
        here = tmp_path / kind
        here.mkdir()
        new, cur = here / ".t.parquet.partial", here / "t.parquet"
        new.mkdir()
        (new / "part-000000.parquet").write_text("new")
        if kind == "file":
            cur.write_text("old one-file table")
        else:
            cur.symlink_to(tmp_path / "elsewhere")  # dangling
        fileio.swap_folder(new, cur)
        assert (cur / "part-000000.parquet").read_text() == "new"
        assert sorted(p.name for p in here.iterdir()) == ["t.parquet"]
