"""Scale benchmark: audio read throughput, alt5 encode local vs Ray, peak RSS vs corpus size,
neighbors on 100k vectors, and the issue's targets.

Usage::

    python -m benchmarks.bench_scale [--quick] [--tracks 20] [--seconds 30]
                                     [--rss-sizes 200,2000,20000] [--neighbors 100000] [--no-ray]

CPU only, synthetic WAV corpora in a temporary folder, untrained alt5 (weights do not change the
speed). Peak RSS is measured in a fresh process per corpus size (``ru_maxrss``) through
``benchmarks/bench_encode.py --rss-child``; neighbors run in a fresh process too.
Prints the ``## Scale`` Markdown section on stdout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, machine_line, md_table, peak_rss_mib

QUICK_ARGS = ["--quick"]
FULL_ARGS: list[str] = []
TARGET_X_REALTIME = 500.0
TARGET_RSS_GROWTH = 0.10
TARGET_NEIGHBORS_S = 60.0


def log(msg: str) -> None:
    print(f"[scale] {msg}", file=sys.stderr, flush=True)


def read_throughput(manifest) -> list[dict]:
    """x real time of reading WAVs: soundfile alone, then musiclatent's read + resample + segment."""
    import soundfile as sf

    from musiclatent.latents.encode import TrackDataset

    paths = [manifest.root / p for p in manifest.tracks["path"]]
    audio_s = float(manifest.tracks["duration_s"].sum())
    size_mb = sum(p.stat().st_size for p in paths) / 1e6
    rows = []
    for _ in range(2):  # the first pass warms the page cache; keep the second
        t0 = time.perf_counter()
        for p in paths:
            sf.read(p, dtype="float32")
        raw = time.perf_counter() - t0
    rows.append({"step": "soundfile.read (WAV, 16-bit)", "wall_s": raw, "x_realtime": audio_s / raw,
                 "mb_s": size_mb / raw})
    ds = TrackDataset(manifest.tracks.to_dict("records"), manifest.root, 22050, 5.0)
    t0 = time.perf_counter()
    for i in range(len(ds)):
        ds[i]
    full = time.perf_counter() - t0
    rows.append({"step": "read_audio + cut_segments (encode's reader)", "wall_s": full,
                 "x_realtime": audio_s / full, "mb_s": size_mb / full})
    return rows


def encode_engines(manifest, ckpt: Path, tmp: Path, ray_engine: bool) -> list[dict]:
    """alt5 end to end (reading WAV included) with the local engine, then on local-mode Ray."""
    import torch

    from musiclatent.latents.encode import encode_corpus

    audio_s = float(manifest.tracks["duration_s"].sum())
    rows = []
    for threads, batch in ((2, 16), (1, 16), (2, 64)):
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp / f"local-{threads}-{batch}.parquet",
                      device="cpu", progress=False, batch_size=batch)
        wall = time.perf_counter() - t0
        rows.append({"engine": "local", "setup": f"1 process, {threads} torch threads, batch {batch}",
                     "wall_s": wall, "x_realtime": audio_s / wall})
        log(f"local {threads} threads batch {batch}: {audio_s / wall:.1f}x real time")
    rows.append(model_only(manifest, ckpt))
    log(f"alt5 model alone: {rows[-1]['x_realtime']:.1f}x real time")
    torch.set_num_threads(2)
    if not ray_engine:
        return rows
    try:
        import ray

        from musiclatent.latents.ray_engine import encode_corpus_ray
    except ImportError:
        rows.append({"engine": "ray", "setup": "not installed (pip install musiclatent[ray])"})
        return rows
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    startup = time.perf_counter() - t0
    try:
        for run in ("first (actors start)", "second"):
            t0 = time.perf_counter()
            encode_corpus_ray(checkpoint=ckpt, manifest=manifest, out=tmp / "ray.parquet", concurrency=2,
                              tracks_per_task=4, progress=False, resume=False)
            wall = time.perf_counter() - t0
            rows.append({"engine": "ray", "setup": f"local Ray, 2 actors x 1 thread, {run}",
                         "wall_s": wall, "x_realtime": audio_s / wall})
            log(f"ray {run}: {audio_s / wall:.1f}x real time")
    finally:
        ray.shutdown()
    rows.append({"engine": "ray", "setup": "ray.init(num_cpus=2) itself", "wall_s": startup})
    return rows


def model_only(manifest, ckpt: Path, batch: int = 16) -> dict:
    """alt5's ``encode`` alone (1 torch thread) on the corpus's segments, already in memory."""
    import numpy as np
    import torch

    from musiclatent.checkpoint import load_checkpoint
    from musiclatent.latents.encode import TrackDataset

    torch.set_num_threads(1)
    model, _ = load_checkpoint(ckpt)
    ds = TrackDataset(manifest.tracks.to_dict("records"), manifest.root, 22050, 5.0)
    segs = np.concatenate([ds[i].segments for i in range(len(ds))])
    with torch.inference_mode():
        model.encode(torch.from_numpy(segs[:batch]).unsqueeze(1))
        t0 = time.perf_counter()
        for i in range(0, len(segs), batch):
            model.encode(torch.from_numpy(segs[i:i + batch]).unsqueeze(1))
        wall = time.perf_counter() - t0
    return {"engine": "(model only)", "setup": f"alt5 encode() alone, 1 torch thread, batch {batch}, no I/O",
            "wall_s": wall, "x_realtime": len(segs) * 5.0 / wall}


def rss_sizes(sizes: list[int]) -> list[dict]:
    """Peak RSS of a fresh process encoding N one-second tracks with alt5 (bench_encode's child)."""
    out = []
    for n in sizes:
        res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_encode.py"), "--rss-child", str(n),
                              "--models", "alt5"], capture_output=True, text=True, check=True, cwd=ROOT)
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
        log(f"{n} tracks: peak RSS {out[-1]['peak_rss_mib']} MiB in {out[-1]['wall_s']} s")
    return out


def neighbors_child(n: int, dim: int) -> dict:
    import numpy as np

    from musiclatent.analyses.neighbors import nearest

    X = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
    before = peak_rss_mib()
    t0 = time.perf_counter()
    nearest(X, X, 5, "cosine", exclude_self=True)
    wall = time.perf_counter() - t0
    return {"vectors": n, "dim": dim, "wall_s": round(wall, 2), "peak_rss_mib": round(peak_rss_mib(), 1),
            "rss_before_mib": round(before, 1)}


def neighbors(n: int, dim: int = 256) -> dict:
    res = subprocess.run([sys.executable, "-m", "benchmarks.bench_scale", "--neighbors-child", str(n),
                          "--dim", str(dim)], capture_output=True, text=True, check=True, cwd=ROOT)
    row = json.loads(res.stdout.strip().splitlines()[-1])
    log(f"neighbors on {n} x {dim}: {row['wall_s']} s, peak RSS {row['peak_rss_mib']} MiB")
    return row


def targets(enc: list[dict], rss: list[dict], nb: dict | None) -> list[dict]:
    rows = []
    local = [r for r in enc if r["engine"] == "local" and "x_realtime" in r]
    alone = [r for r in enc if r["engine"] == "(model only)"]
    if local:
        best = max(local, key=lambda r: r["x_realtime"])
        extra = f"; the model alone: {alone[0]['x_realtime']:.0f}x" if alone else ""
        rows.append({"target": f"alt5 encodes >= {TARGET_X_REALTIME:.0f}x real time end to end",
                     "measured": f"{best['x_realtime']:.0f}x ({best['setup']}){extra}",
                     "met": "yes" if best["x_realtime"] >= TARGET_X_REALTIME else "no"})
    by_n = {r["tracks"]: r for r in rss}
    if 2000 in by_n and max(by_n) > 2000:
        big = by_n[max(by_n)]
        growth = big["peak_rss_mib"] / by_n[2000]["peak_rss_mib"] - 1
        rows.append({"target": f"peak RSS of encode at {max(by_n)} tracks within 10% of 2000 tracks",
                     "measured": f"{growth:+.1%} ({by_n[2000]['peak_rss_mib']} -> {big['peak_rss_mib']} MiB)",
                     "met": "yes" if growth <= TARGET_RSS_GROWTH else "no"})
    if nb is not None:
        rows.append({"target": f"neighbors on {nb['vectors']:,} vectors < 1 minute",
                     "measured": f"{nb['wall_s']} s", "met": "yes" if nb["wall_s"] < TARGET_NEIGHBORS_S else "no"})
    return rows


def markdown(args, reads, enc, rss, nb, tracks: int, seconds: float) -> str:
    cmd = " ".join(["python -m benchmarks.bench_scale", *sys.argv[1:]]).strip()
    parts = [
        "## Scale", "",
        f"Measured with `{cmd}` on {machine_line()}. CPU only. The 2 cores were shared with other "
        "engineers' jobs while this ran: compare rows of one table (measured minutes apart), not "
        "absolute values across machines. Synthetic 22050 Hz mono 16-bit WAVs; untrained alt5.", "",
        "### Targets", "",
        md_table(targets(enc, rss, nb), [("target", "target"), ("measured", "measured"), ("met", "met")]), "",
        f"### Audio read throughput ({tracks} tracks x {seconds:g} s)", "",
        md_table(reads, [("step", "step"), ("wall_s", "wall s"), ("x_realtime", "x real time"),
                         ("mb_s", "MB/s")]), "",
        f"### Encode alt5 end to end, local vs Ray ({tracks} tracks x {seconds:g} s, 5 s segments)", "",
        "Reading and decoding WAV, segmenting, inference and writing the table included.", "",
        md_table(enc, [("engine", "engine"), ("setup", "setup"), ("wall_s", "wall s"),
                       ("x_realtime", "x real time")]), "",
    ]
    if rss:
        parts += ["### Peak RSS of encode vs corpus size", "",
                  "A fresh process per size encodes N one-second tracks with alt5 (row groups of 256 segments); "
                  "`peak RSS` is `ru_maxrss` of that process, measured by `bench_encode.py --rss-child` "
                  "(see the Encode section for what it counts).", "",
                  md_table(rss, [("tracks", "tracks"), ("rows", "rows"), ("rss_before_encode_mib", "RSS before encode MiB"),
                                 ("peak_rss_mib", "peak RSS MiB"), ("wall_s", "encode wall s")]), ""]
    if nb is not None:
        parts += ["### Neighbors (brute force, chunked)", "",
                  md_table([nb], [("vectors", "vectors"), ("dim", "dims"), ("wall_s", "wall s"),
                                  ("peak_rss_mib", "peak RSS MiB")]), ""]
    return "\n".join(parts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="8 x 10 s tracks, RSS at 200/2000, neighbors at 10k")
    p.add_argument("--tracks", type=int, default=None)
    p.add_argument("--seconds", type=float, default=None)
    p.add_argument("--rss-sizes", default=None)
    p.add_argument("--neighbors", type=int, default=None, help="vectors for the neighbors timing (0: skip)")
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--no-ray", action="store_true")
    p.add_argument("--neighbors-child", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.neighbors_child is not None:
        print(json.dumps(neighbors_child(args.neighbors_child, args.dim)))
        return
    import torch

    from benchmarks.bench_encode import checkpoint_for, make_corpus
    from musiclatent.corpus.manifest import scan_corpus

    torch.set_num_threads(2)
    tracks = args.tracks or (8 if args.quick else 20)
    seconds = args.seconds or (10.0 if args.quick else 30.0)
    sizes = [int(s) for s in (args.rss_sizes if args.rss_sizes is not None
                              else ("200,2000" if args.quick else "200,2000,20000")).split(",") if s]
    n_nb = args.neighbors if args.neighbors is not None else (10_000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_corpus(tmp / "corpus", tracks, seconds)
        manifest = scan_corpus(tmp / "corpus", quick=True, progress=False, jobs=1)
        ckpt = checkpoint_for("alt5", tmp)
        reads = read_throughput(manifest)
        log(f"read: {reads[0]['x_realtime']:.0f}x / {reads[1]['x_realtime']:.0f}x real time")
        enc = encode_engines(manifest, ckpt, tmp, not args.no_ray)
    rss = rss_sizes(sizes)
    nb = neighbors(n_nb, args.dim) if n_nb else None
    print(markdown(args, reads, enc, rss, nb, tracks, seconds))


if __name__ == "__main__":
    main()
