"""Two ``musiclatent encode`` processes on one table: the second refuses (naming the first's pid),
the first finishes with every track once; a SIGKILLed run leaves no lock behind (issue 17, item 1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpus_helpers import alt5_corpus_and_checkpoint

from musiclatent.locks import BusyError, exclusive, is_locked, lock_path

pytestmark = pytest.mark.slow

WAIT_S = 240


@pytest.fixture
def alt5_setup(tmp_path):
    """A 6-track corpus of 2 s clips and an untrained alt5 checkpoint (1 s segments)."""
    return alt5_corpus_and_checkpoint(tmp_path)


def _start(tmp_path: Path, prelude: str, args: list[str]) -> subprocess.Popen:
    code = "import sys, time\n" + prelude + "\nfrom musiclatent.cli import main\nmain(sys.argv[1:])\n"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MUSICLATENT_WORKSPACE": str(tmp_path / "ws")}
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _gated(gate: Path) -> str:
    """A prelude: flush every track; from the second track on, wait until ``gate`` exists."""
    return ("import os\nimport musiclatent.latents.encode as e\n"
            "e.FLUSH_SECONDS = 0.0\n"
            "_seen = []\n"
            "def _wait(track_id):\n"
            "    _seen.append(track_id)\n"
            f"    while len(_seen) > 1 and not os.path.exists({str(gate)!r}):\n"
            "        time.sleep(0.02)\n"
            "e._track_written = _wait\n")


def _until(what, procs, deadline_s=WAIT_S):
    deadline = time.monotonic() + deadline_s
    while not what():
        assert time.monotonic() < deadline, [p.poll() for p in procs]
        time.sleep(0.02)


def _args(corpus, ckpt, out):
    return ["encode", "--checkpoint", str(ckpt), "--data", str(corpus), "--out", str(out), "--batch-size", "2", "-q"]


def _every_track_once(out: Path, corpus: Path) -> None:
    from musiclatent.latents.table import LatentTable

    table = LatentTable.open(out).validate(deep=True)
    rows = table.segments()
    expected = sorted(str(p.relative_to(corpus).with_suffix("")) for p in corpus.rglob("*.wav"))
    assert sorted(table.track_ids()) == expected
    assert not rows.duplicated(["track_id", "segment"]).any()
    assert table.num_rows == 2 * len(expected)


def test_two_concurrent_encodes_give_a_complete_table_or_one_clean_refusal(tmp_path, alt5_setup):
    corpus, ckpt = alt5_setup
    out = tmp_path / "t.parquet"
    gate = tmp_path / "go"
    procs = [_start(tmp_path, _gated(gate), _args(corpus, ckpt, out)) for _ in range(2)]
    # the lock holder waits at the gate after its first track, so the two runs overlap for sure
    _until(lambda: any(p.poll() is not None for p in procs), procs)
    gate.touch()
    outputs = []
    for proc in procs:
        text, _ = proc.communicate(timeout=WAIT_S)
        outputs.append((proc.returncode, text.decode(errors="replace")))
    refused = [text for rc, text in outputs if rc != 0]
    assert len(refused) <= 1, outputs
    for text in refused:  # the refusal is one line naming the other process and the table
        assert "Traceback" not in text, text
        lines = [line for line in text.splitlines() if line.startswith("Error:")]
        assert len(lines) == 1 and "pid" in lines[0] and "t.parquet" in lines[0], text
        other = next(p.pid for p, (rc, _) in zip(procs, outputs, strict=True) if rc == 0)
        assert f"pid {other}" in lines[0], text
    _every_track_once(out, corpus)


def test_second_encode_refuses_while_the_first_runs_then_a_killed_holder_blocks_nothing(tmp_path, alt5_setup):
    corpus, ckpt = alt5_setup
    out = tmp_path / "t.parquet"
    first = _start(tmp_path, _gated(tmp_path / "never"), _args(corpus, ckpt, out))
    from musiclatent.latents.table import partial_path

    _until(lambda: first.poll() is not None or list(partial_path(out).glob("part-*.parquet")), [first])
    assert first.poll() is None and is_locked(out)  # the first run is writing (and waits at the gate)
    second = subprocess.run([sys.executable, "-c", "from musiclatent.cli import main; main()",
                             *_args(corpus, ckpt, out)], capture_output=True, text=True, timeout=WAIT_S,
                            env={**os.environ, "MUSICLATENT_WORKSPACE": str(tmp_path / "ws")})
    assert second.returncode == 1, second.stdout + second.stderr
    assert f"pid {first.pid}" in second.stderr and str(out) in second.stderr
    assert "Traceback" not in second.stderr

    first.send_signal(signal.SIGKILL)  # killed while holding the lock: the kernel releases it
    first.wait()
    assert not is_locked(out) and lock_path(out).exists()
    rerun = subprocess.run([sys.executable, "-c", "from musiclatent.cli import main; main()",
                            *_args(corpus, ckpt, out)], capture_output=True, text=True, timeout=WAIT_S,
                           env={**os.environ, "MUSICLATENT_WORKSPACE": str(tmp_path / "ws")})
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming t.parquet" in rerun.stderr
    _every_track_once(out, corpus)
    assert not lock_path(out).exists()  # a finished run removes its lock file


def test_exclusive_refuses_a_second_holder_in_the_same_process(tmp_path):
    target = tmp_path / "x.parquet"
    with exclusive(target, "another `musiclatent encode`"):
        with pytest.raises(BusyError, match=rf"pid {os.getpid()}.*x\.parquet|x\.parquet.*pid {os.getpid()}"):
            with exclusive(target):
                pass
    with exclusive(target):  # released on exit
        assert is_locked(target)


def test_the_ray_engine_takes_the_same_lock(tmp_path):
    """A Ray encode of a table that a local encode is writing refuses at once (before Ray starts)."""
    from musiclatent.latents.ray_engine import encode_corpus_ray

    out = tmp_path / "t.parquet"
    with exclusive(out, "another `musiclatent encode`"):
        with pytest.raises(BusyError, match=rf"pid {os.getpid()}"):
            encode_corpus_ray(checkpoint=tmp_path / "none.safetensors", manifest=tmp_path / "none", out=out)
    assert not out.exists()
