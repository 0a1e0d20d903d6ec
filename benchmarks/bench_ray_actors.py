"""Ray engine scaling: encode throughput with 1, 2 and 4 actors, and the memory of each actor.

Usage::

    python -m benchmarks.bench_ray_actors [--quick] [--tracks 96] [--seconds 30] [--actors 1,2,4]

CPU only, a synthetic WAV corpus in a temporary folder, untrained alt5 (weights do not change the
speed), a local Ray started with as many logical CPUs as the largest pool (one per actor, one
torch thread each). Each pool size runs ``encode_corpus_ray`` once from scratch, so the wall time
includes starting the actors (each imports torch and loads the checkpoint); ``actors up after``
is when the GCS first listed all of the pool's actors ``ALIVE`` (constructors done), and ``x real
time once up`` the throughput from then to the end. A sampler thread reads ``/proc`` every 0.2 s for the actor processes of this run (descendants of this
process named ``ray::MapWorker...``): ``peak RSS`` is the largest ``VmHWM`` of an actor, ``PSS``
its proportional share of memory (shared torch libraries split between the processes mapping them).
Prints the ``## Ray actors`` Markdown section on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.common import machine_line, md_table

QUICK_ARGS = ["--quick"]
FULL_ARGS: list[str] = []


def log(msg: str) -> None:
    print(f"[ray-actors] {msg}", file=sys.stderr, flush=True)


def _ppid(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        return int(text.rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _kib(pid: int, path: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def actor_pids(root: int) -> list[int]:
    """Processes below ``root`` whose title says they are a Ray Data map actor."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if not title.startswith("ray::MapWorker"):
            continue
        p, hops = pid, 0
        while p > 1 and p != root and hops < 16:
            p, hops = _ppid(p), hops + 1
        if p == root:
            found.append(pid)
    return found


def alive_actors(known: set[str]) -> set[str]:
    """Ray Data map actors (not in ``known``) whose constructor has finished (``ALIVE`` in the GCS)."""
    import ray

    return {a["ActorID"] for a in ray._private.state.actors().values()
            if a["State"] == "ALIVE" and "MapWorker" in a["ActorClassName"] and a["ActorID"] not in known}


class ActorMemory(threading.Thread):
    """Peak RSS (``VmHWM``) and PSS of every actor process seen while running, and when all were up."""

    def __init__(self, exclude: set[int], known_actors: set[str], pool: int, period_s: float = 0.2):
        super().__init__(daemon=True)
        self.exclude = exclude  # actors of earlier runs, possibly still exiting
        self.known_actors, self.pool = known_actors, pool
        self.period_s, self.stop_flag = period_s, threading.Event()
        self.peak_kib: dict[int, int] = {}
        self.pss_kib: dict[int, int] = {}
        self.all_up: float | None = None  # perf_counter when ``pool`` new actors were ALIVE
        self.actors: set[str] = set()

    def run(self) -> None:
        me = os.getpid()
        while not self.stop_flag.is_set():
            if self.all_up is None:
                self.actors |= alive_actors(self.known_actors)
                if len(self.actors) >= self.pool:
                    self.all_up = time.perf_counter()
            for pid in set(actor_pids(me)) - self.exclude:
                self.peak_kib[pid] = max(self.peak_kib.get(pid, 0), _kib(pid, "status", "VmHWM"))
                pss = _kib(pid, "smaps_rollup", "Pss")
                if pss:
                    self.pss_kib[pid] = max(self.pss_kib.get(pid, 0), pss)
            self.stop_flag.wait(self.period_s)

    def stop(self) -> None:
        self.stop_flag.set()
        self.join()


def run_pool(manifest, ckpt: Path, out: Path, actors: int, audio_s: float, earlier: set[int],
             known_actors: set[str]) -> dict:
    from musiclatent.latents import ray_engine

    blocks: list[int] = []
    real = ray_engine._write_block

    def counted(block, *args, **kwargs):
        blocks.append(len(block))
        return real(block, *args, **kwargs)

    ray_engine._write_block = counted
    mem = ActorMemory(set(earlier), set(known_actors), actors)
    mem.start()
    try:
        t0 = time.perf_counter()
        ray_engine.encode_corpus_ray(checkpoint=ckpt, manifest=manifest, out=out, concurrency=actors,
                                     progress=False, resume=False)
        wall = time.perf_counter() - t0
    finally:
        mem.stop()
        ray_engine._write_block = real
    end = t0 + wall
    steady = audio_s / max(end - mem.all_up, 1e-9) if mem.all_up is not None else None
    earlier.update(mem.peak_kib)
    known_actors.update(mem.actors)
    peaks = sorted(mem.peak_kib.values())
    pss = sorted(mem.pss_kib.values())
    row = {"actors": actors, "blocks": len(blocks), "wall_s": wall, "x_realtime": audio_s / wall,
           "start_s": (mem.all_up - t0) if mem.all_up is not None else None, "steady_x": steady,
           "rss_mib": max(peaks) / 1024 if peaks else None, "pss_mib": max(pss) / 1024 if pss else None,
           "seen": len(peaks)}
    log(f"{actors} actors: {row['x_realtime']:.1f}x real time ({wall:.1f} s), all actors up after "
        f"{row['start_s'] or 0:.1f} s, then {steady or 0:.0f}x; peak RSS per actor {row['rss_mib'] or 0:.0f} MiB ({len(peaks)} actors seen)")
    return row


def markdown(rows: list[dict], tracks: int, seconds: float) -> str:
    cmd = " ".join(["python -m benchmarks.bench_ray_actors", *sys.argv[1:]]).strip()
    return "\n".join([
        "## Ray actors", "",
        f"Measured with `nice -n 10 {cmd}` on {machine_line()}. CPU only; the 2 cores were shared "
        "with other engineers' jobs while this ran, so compare the rows with each other, not with "
        f"other machines. {tracks} synthetic tracks x {seconds:g} s (22050 Hz WAV), untrained alt5, "
        "5 s segments, local Ray with one logical CPU per actor, one torch thread per actor.", "",
        md_table(rows, [("actors", "actors"), ("blocks", "blocks"), ("wall_s", "wall s (actor start included)"),
                        ("x_realtime", "x real time"), ("start_s", "actors up after s"),
                        ("steady_x", "x real time once up"), ("rss_mib", "peak RSS per actor MiB"),
                        ("pss_mib", "PSS per actor MiB"), ("seen", "actor processes")]), ""])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="12 x 10 s tracks")
    p.add_argument("--tracks", type=int, default=None)
    p.add_argument("--seconds", type=float, default=None)
    p.add_argument("--actors", default="1,2,4")
    args = p.parse_args()
    import ray

    from benchmarks.bench_encode import checkpoint_for, make_corpus
    from musiclatent.corpus.manifest import scan_corpus

    tracks = args.tracks or (12 if args.quick else 96)
    seconds = args.seconds or (10.0 if args.quick else 30.0)
    sizes = [int(s) for s in args.actors.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_corpus(tmp / "corpus", tracks, seconds)
        manifest = scan_corpus(tmp / "corpus", quick=True, progress=False, jobs=1)
        ckpt = checkpoint_for("alt5", tmp)
        audio_s = float(manifest.tracks["duration_s"].sum())
        ray.init(address="local", num_cpus=max(sizes), include_dashboard=False, log_to_driver=False)
        try:
            earlier: set[int] = set()
            known: set[str] = set()
            rows = [run_pool(manifest, ckpt, tmp / f"ray-{n}.parquet", n, audio_s, earlier, known)
                    for n in sizes]
        finally:
            ray.shutdown()
    print(markdown(rows, tracks, seconds))


if __name__ == "__main__":
    main()
