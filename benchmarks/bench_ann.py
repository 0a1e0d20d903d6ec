"""Benchmark: the neighbours search, exact brute force vs the approximate FAISS index.

All k=10 cosine neighbours of every one of n vectors of 256 dims (``nearest(X, X, 10,
exclude_self=True)``, what ``musiclatent analyze neighbors`` runs), on two synthetic sets:

- ``structured``: 10 clusters on a 16-dim manifold mapped to 256 dims (tanh of a random linear
  map) plus small noise, the low intrinsic dimension learned latents have;
- ``isotropic``: 10 Gaussian centres plus N(0, 1.5) noise in all 256 dims (the vectors of
  bench_analyses), the worst case for any index: neighbours in pure high-dim noise are nearly
  arbitrary.

Recall@10 is the share of the exact 10 neighbours the index returns, over a seeded sample of
1000 queries. Each (set, size) runs in its own subprocess with 2 threads; wall and CPU seconds
(user + system of the process: on a shared machine, CPU / threads is what idle cores would take).

    python -m benchmarks.bench_ann --sizes 20000,100000

Prints the ``## Neighbours index`` Markdown section on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from benchmarks.common import ROOT, machine_line, md_table

QUICK_ARGS = ["--sizes", "20000", "--sets", "structured"]
FULL_ARGS = ["--sizes", "20000,100000"]

CHILD = r"""
import json, resource, sys, time
import numpy as np
import torch
torch.set_num_threads(2)
from musiclatent.analyses.neighbors import nearest
from musiclatent.analyses.ann import describe
n, kind, sample, time_exact = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
rng = np.random.default_rng(0)
if kind == "structured":
    z = rng.normal(0, 3, size=(10, 16))[np.arange(n) % 10] + rng.normal(0, 1, size=(n, 16))
    X = np.tanh(z @ (rng.normal(size=(16, 256)) / 4)) + rng.normal(0, 0.05, size=(n, 256))
else:
    X = rng.normal(0, 1, size=(10, 256))[np.arange(n) % 10] + rng.normal(0, 1.5, size=(n, 256))
X = X.astype(np.float32)
import faiss  # noqa: F401  (import time not counted)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
out = {}
for index in ("ann", "exact") if time_exact else ("ann",):
    c0, t0 = cpu(), time.perf_counter()
    _, idx = nearest(X, X, 10, "cosine", exclude_self=True, index=index, seed=0)
    out[index] = {"wall_s": time.perf_counter() - t0, "cpu_s": cpu() - c0, "idx": idx}
picked = rng.choice(n, min(n, sample), replace=False)
a = out["ann"]["idx"][picked]
if time_exact:
    e = out["exact"]["idx"][picked]
else:  # the exact neighbours of the sampled queries only (their own row dropped)
    _, e11 = nearest(X, X[picked], 11, "cosine")
    e = [[j for j in row if j != q][:10] for row, q in zip(e11, picked)]
recall = float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, e)]))
print(json.dumps({"n": n, "set": kind, "recall": recall, "detail": describe(n),
                  **{f"{k}_{m}": v[m] for k, v in out.items() for m in ("wall_s", "cpu_s")}}))
"""


def run_one(n: int, kind: str, sample: int, timeout: int, time_exact: bool = True) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "2",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(n), kind, str(sample),
                               "1" if time_exact else "0"], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"n": n, "set": kind, "error": f"over {timeout} s"}
    if proc.returncode != 0:
        return {"n": n, "set": kind, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown(rows: list[dict], argv: list[str]) -> str:
    table = []
    for r in rows:
        if "error" in r:
            table.append({"set": r["set"], "n": r["n"], "index": "failed: " + r["error"][:80]})
            continue
        table.append({"set": r["set"], "n": r["n"], "index": r["detail"],
                      "ann": f"{r['ann_wall_s']:.1f} ({r['ann_cpu_s'] / 2:.1f})",
                      "exact": (f"{r['exact_wall_s']:.1f} ({r['exact_cpu_s'] / 2:.1f})" if "exact_wall_s" in r
                                else "as above (same n)"),
                      "recall": f"{r['recall']:.3f}"})
    return "\n".join([
        "## Neighbours index", "",
        f"Command: `python -m benchmarks.bench_ann {' '.join(argv)}`. Machine: {machine_line()}.", "",
        "k=10 cosine neighbours of every vector (256 dims), 2 threads. Seconds are wall (CPU / 2 in "
        "brackets: what 2 idle cores would take; the wall time includes waiting for other jobs on a "
        "shared machine). Recall@10 against the exact search on 1000 sampled queries. The exact "
        "search's time does not depend on the data, so it is timed once per size (on the first set).", "",
        md_table(table, [("set", "vectors"), ("n", "n"), ("index", "index"), ("ann", "ann s"),
                         ("exact", "exact s"), ("recall", "recall@10")]),
    ]) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--sets", default="structured,isotropic")
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--merge", action="append", default=[],
                        help="a file of JSON rows (one per line) from an earlier run to include (repeatable)")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for f in args.merge for line in open(f) if line.strip().startswith("{")]
    for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
        for i, kind in enumerate(s.strip() for s in args.sets.split(",") if s.strip()):
            row = run_one(n, kind, args.sample, args.timeout, time_exact=i == 0)
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    print(markdown(rows, argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
