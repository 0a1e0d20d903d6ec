"""Benchmark: every model-free analysis on 1k / 10k / 100k synthetic track vectors of 256 dims.

Each (analysis, size) runs in its own subprocess, so peak memory is that process's max RSS.
Track vectors come from a synthetic latent table (1 segment per track, latent [128, 4], flatten
pooling -> 256 dims, 10 labels). UMAP's first call compiles numba code; that compile time is
measured separately (a second UMAP fit in the same process on a tiny input shows the difference).

    python benchmarks/bench_analyses.py --sizes 1000,10000 [--analyses pca,cluster] [--write]

``--write`` replaces the "## Analyses" section of docs/performance.md (other sections untouched).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
ANALYSES = ("pca", "umap", "cluster", "neighbors", "probe")
LATENT_SHAPE = (128, 4)  # flatten -> 256 dims
HEADING = "## Analyses"

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from musiclatent.analyses.runner import run_analysis
name, table, out, opts = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
if name == "umap":
    import warnings, numpy as np
    warnings.simplefilter("ignore")
    import umap
    c0 = time.perf_counter()
    umap.UMAP(n_neighbors=5, random_state=0).fit_transform(np.random.default_rng(0).normal(size=(64, 8)))
    c1 = time.perf_counter()
    umap.UMAP(n_neighbors=5, random_state=0).fit_transform(np.random.default_rng(1).normal(size=(64, 8)))
    c2 = time.perf_counter()
    compile_s = (c1 - c0) - (c2 - c1)
else:
    compile_s = None
# warm-up not counted: library imports and the inlined vega JS bundle (built once per process)
import sklearn.cluster, sklearn.decomposition, sklearn.linear_model, pandas, vl_convert
from musiclatent.charts import alt
alt(); vl_convert.javascript_bundle()
start = time.perf_counter()
run_analysis(name, table=table, out_dir=out, pooling="flatten", formats=("html",), **opts)
wall = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "peak_mb": rss, "compile_s": compile_s, "total_s": time.perf_counter() - t0}))
"""

OPTIONS = {"probe": {"baseline": False}, "cluster": {"k_max": 12, "method": "both"}}


def make_table(path: Path, n: int) -> Path:
    """A synthetic table of ``n`` tracks (written in chunks, memory bounded)."""
    import numpy as np

    from musiclatent.latents.table import LatentTableWriter
    from musiclatent.testing import TINY_RATE, TINY_SEGMENT, segment_rows

    rng = np.random.default_rng(0)
    c, t = LATENT_SHAPE
    centers = rng.normal(0, 1, size=(10, c, t)).astype(np.float32)
    meta = {"model": "synthetic", "sample_rate": TINY_RATE, "segment_samples": TINY_SEGMENT,
            "latent_shape": [c, t]}
    with LatentTableWriter(path, meta, row_group_rows=8192, resume=False) as writer:
        for start in range(0, n, 4096):
            stop = min(n, start + 4096)
            idx = np.arange(start, stop)
            lat = centers[idx % 10] + rng.normal(0, 1.5, size=(len(idx), c, t)).astype(np.float32)
            rows = {k: [] for k in ("track_id", "path", "label", "split", "segment", "start_s", "duration_s")}
            for i in idx:
                for k, v in segment_rows(f"g{i % 10}/t{i:06d}", f"g{i % 10}/t{i:06d}.wav", f"g{i % 10}",
                                  "train", 1).items():
                    rows[k].extend(v)
            writer.write(rows, lat[:, None].reshape(len(idx), c, t))
    return path


def run_one(name: str, table: Path, out: Path, timeout: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    proc = subprocess.run([sys.executable, "-c", CHILD, name, str(table), str(out), json.dumps(OPTIONS.get(name, {}))],
                          capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_section(rows: list[dict], sizes: list[int]) -> None:
    lines = [HEADING, "",
             f"Each analysis on synthetic track vectors of 256 dims (flatten pooling of a [128, 4] latent, "
             f"10 labels), one subprocess per run, charts written as HTML only (`--format html`). "
             f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared), Python "
             f"{platform.python_version()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '2')}. "
             "Wall time is the `run_analysis` call (computation + writing outputs; Python start-up, library "
             "imports and the one-off ~2 s build of the inlined vega JS bundle are excluded); peak memory is the process's max RSS. The cores are shared with other "
             "work, so differences of a few seconds are noise (e.g. pca at 1k vs 10k).", "",
             "Command: `python benchmarks/bench_analyses.py --sizes " + ",".join(map(str, sizes)) + " --write`", "",
             "| analysis | tracks | wall time (s) | peak memory (MB) | note |", "|---|---:|---:|---:|---|"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['analysis']} | {r['n']} | — | — | not run: {r['skipped']} |")
            continue
        if "error" in r:
            lines.append(f"| {r['analysis']} | {r['n']} | — | — | failed: {r['error'][:80]} |")
            continue
        note = r.get("note", "")
        lines.append(f"| {r['analysis']} | {r['n']} | {r['wall_s']:.1f} | {r['peak_mb']:.0f} | {note} |")
    compile_s = [r["compile_s"] for r in rows if r.get("compile_s") is not None]
    if compile_s:
        lines += ["", f"UMAP's first call in a fresh process spends {min(compile_s):.0f}-{max(compile_s):.0f} s compiling numba "
                  "code (measured as the first minus the second fit of a tiny input), on top of the "
                  "`import umap` itself; that cost is not in the wall times above."]
    lines += ["", "neighbors is exact brute force (a matrix product and top-k per chunk of queries): "
              "at 100k tracks that is 2.6e12 multiply-adds, compute-bound on 2 shared cores.", "",
              "probe runs without its MFCC baseline here (no audio); cluster uses k = 2..12, both "
              "methods (agglomerative is skipped above 10 000 tracks, k-means switches to MiniBatchKMeans "
              "above 20 000)."]
    section = "\n".join(lines) + "\n"
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    if HEADING in text:
        start = text.index(HEADING)
        nxt = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + ("\n" + text[nxt + 1:] if nxt != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    from musiclatent.fileio import atomic_write_text

    atomic_write_text(DOC, text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--analyses", default=",".join(ANALYSES))
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--write", action="store_true", help="write the results into docs/performance.md")
    parser.add_argument("--merge", action="append", default=[],
                        help="JSON output of an earlier run whose rows are included (repeatable)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]  # "" with --merge: rewrite only
    rows = [r for f in args.merge for r in json.loads(Path(f).read_text())]
    with tempfile.TemporaryDirectory(prefix="bench-analyses-") as tmp:
        for n in sizes:
            t0 = time.perf_counter()
            table = make_table(Path(tmp) / f"t{n}.parquet", n)
            print(f"table of {n} tracks written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            for name in args.analyses.split(","):
                try:
                    r = run_one(name, table, Path(tmp) / f"{name}-{n}", args.timeout)
                except subprocess.TimeoutExpired:
                    r = {"error": f"over {args.timeout} s"}
                r.update(analysis=name, n=n)
                rows.append(r)
                print(json.dumps(r), file=sys.stderr)
    if args.write:
        rows.sort(key=lambda r: (ANALYSES.index(r["analysis"]) if r["analysis"] in ANALYSES else 99, r["n"]))
        write_section(rows, sorted({r["n"] for r in rows}))
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
