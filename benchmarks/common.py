"""Shared pieces of the benchmark suite: the list of benchmark modules, machine facts, sections.

The contract of a benchmark module ``benchmarks/bench_<name>.py``: run as
``python -m benchmarks.bench_<name> [ARGS]`` it measures, logs progress to stderr and prints its
Markdown section, starting with a ``## Title`` line, as the last thing on stdout. Two other
shapes are accepted: a module that prints a bare Markdown table (it gets the ``## Title``
heading), and one that writes its section into the file named by a module attribute
(``doc_attr``, e.g. ``DOC``) when given ``write_flag``: the runner points that attribute at a
temporary file and reads the section back, so the real docs are written only by the runner.
``python -m benchmarks`` runs each module in its own process (fresh memory, no shared torch
state) and writes all sections, with a summary, into docs/performance.md. A module may define
``QUICK_ARGS`` / ``FULL_ARGS`` (lists of strings) to override the arguments listed here.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "performance.md"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark module and the arguments of its full and ``--quick`` runs."""

    name: str
    module: str
    title: str
    what: str
    full_args: list[str] = field(default_factory=list)
    quick_args: list[str] = field(default_factory=list)
    doc_attr: str | None = None
    write_flag: str | None = None

    @property
    def path(self) -> Path:
        return ROOT / (self.module.replace(".", "/") + ".py")


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("training", "benchmarks.bench_training", "Training",
              "training segments/s per model, share of time waiting for data",
              [], ["--models", "alt1,alt5", "--seconds", "5", "--segments", "10"]),
    Benchmark("encode", "benchmarks.bench_encode", "Encode",
              "encode x real time per model beside the read floor",
              ["--models", "alt5,wave12", "--tracks", "8", "--seconds", "10", "--rss-sizes", ""],
              ["--models", "alt5", "--tracks", "4", "--seconds", "5", "--rss-sizes", ""]),
    Benchmark("scale", "benchmarks.bench_scale", "Scale",
              "audio read throughput, alt5 local vs Ray, peak RSS vs corpus size, neighbors at 100k, targets",
              [], ["--quick"]),
    Benchmark("ray_actors", "benchmarks.bench_ray_actors", "Ray actors",
              "Ray engine encode throughput with 1, 2 and 4 actors, memory per actor",
              [], ["--quick"]),
    Benchmark("analyses", "benchmarks.bench_analyses", "Analyses",
              "each analysis at 1k/10k/100k track vectors",
              ["--sizes", "1000,10000,100000"], ["--sizes", "1000"], doc_attr="DOC", write_flag="--write"),
    Benchmark("ann", "benchmarks.bench_ann", "Neighbours index",
              "neighbors: exact vs the FAISS index at 20k/100k x 256, recall@10",
              ["--sizes", "20000,100000"], ["--sizes", "20000", "--sets", "structured"]),
    Benchmark("quality", "benchmarks.bench_quality", "Quality",
              "same-budget training, rate-distortion, probe accuracy",
              ["--out", "{tmp}/quality"],
              ["--models", "alt5,wave12", "--budget-s", "20", "--tracks-per-genre", "2", "--seconds", "5",
               "--no-opus", "--no-encodec", "--out", "{tmp}/quality"]),
)


def corpus_segments(corpus: Path, splits, labels_csv: Path | None = None, segment_seconds: float = 5.0,
                    sample_rate: int = 22050):
    """``(manifest, {split: SegmentStack(waves[N, 1, T], labels, track_ids, lengths)})``: the corpus's segments of each
    of ``splits`` (``None`` = every track) as ``musiclatent benchmark quality --corpus`` cuts them
    (the manifest's split, from ``labels_csv``, default ``corpus/labels.csv``)."""
    import tempfile

    from musiclatent.corpus.dataset import SegmentDataset
    from musiclatent.quality.benchmark import _stack
    from musiclatent.workspace import Workspace, load_manifest

    labels_csv = labels_csv or corpus / "labels.csv"
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(tmp)
        manifest = load_manifest(ws, corpus, labels_csv=labels_csv, sample_rate=sample_rate, progress=False)
        return manifest, {split: _stack(SegmentDataset(manifest, split=split, sample_rate=sample_rate,
                                                       segment_seconds=segment_seconds, cache_dir=ws.cache_dir))
                          for split in splits}


def by_name() -> dict[str, Benchmark]:
    return {b.name: b for b in BENCHMARKS}


# ----------------------------------------------------------------------------- measuring
def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def cpu_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        return ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def machine_line() -> str:
    """One line saying what the numbers were measured on (and how busy it was)."""
    try:
        import torch

        torch_v = torch.__version__
    except ImportError:  # pragma: no cover
        torch_v = "n/a"
    mem = ""
    try:
        kib = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines()
                       if ln.startswith("MemTotal")).split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return (f"{cpu_model()}, {cpu_cores()} CPU cores{mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, torch {torch_v}; load average {load_average()} "
            f"at {time.strftime('%Y-%m-%d %H:%M')}")


# ----------------------------------------------------------------------------- markdown
def md_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A Markdown table of ``rows`` with ``columns`` = [(key, header), ...]; numbers right-aligned."""
    def cell(v) -> str:
        if isinstance(v, float):
            return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}"
        return "" if v is None else str(v).replace("|", "\\|")

    numeric = [all(isinstance(r.get(k), (int, float)) for r in rows if r.get(k) is not None) for k, _ in columns]
    lines = ["| " + " | ".join(h for _, h in columns) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(cell(r.get(k)) for k, _ in columns) + " |" for r in rows]
    return "\n".join(lines)


def extract_section(stdout: str) -> str | None:
    """The Markdown section a module printed: from its first ``## `` line to the end."""
    match = re.search(r"^## .*", stdout, re.M | re.S)
    return match.group(0).rstrip() + "\n" if match else None


def section_title(section: str) -> str:
    return section.splitlines()[0][3:].strip()


def replace_sections(text: str, sections: list[str]) -> str:
    """``text`` with each ``## Title`` section replaced by the new one (appended when absent).

    Sections not given (e.g. written by hand) stay as they are, in place.
    """
    for section in sections:
        title = section_title(section)
        pattern = re.compile(rf"^## {re.escape(title)}[ \t]*\n.*?(?=^## |\Z)", re.S | re.M)
        body = section.rstrip("\n") + "\n\n"
        if pattern.search(text):
            text = pattern.sub(lambda _m, b=body: b, text, count=1)
        else:
            text = text.rstrip("\n") + "\n\n" + body
    return text.rstrip("\n") + "\n"


# ----------------------------------------------------------------------------- running
@dataclass
class Outcome:
    """What running one benchmark module gave."""

    bench: Benchmark
    status: str  # ok, missing, failed, timeout
    wall_s: float = 0.0
    section: str | None = None
    error: str = ""


def module_args(bench: Benchmark, quick: bool) -> list[str]:
    """Arguments for ``bench``: the module's own ``QUICK_ARGS``/``FULL_ARGS`` when it defines them."""
    name = "QUICK_ARGS" if quick else "FULL_ARGS"
    try:
        text = bench.path.read_text()
    except OSError:
        return list(bench.quick_args if quick else bench.full_args)
    match = re.search(rf"^{name}\s*=\s*(\[.*?\])", text, re.M | re.S)
    if match:
        import ast

        try:
            value = ast.literal_eval(match.group(1))
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
        except (ValueError, SyntaxError):
            pass
    return list(bench.quick_args if quick else bench.full_args)


def run_benchmark(bench: Benchmark, quick: bool, timeout_s: float | None = None) -> Outcome:
    """Run one module in a subprocess (its stderr passes through); return its section."""
    import tempfile

    if not bench.path.is_file():
        return Outcome(bench, "missing", error=f"{bench.path.relative_to(ROOT)} does not exist yet")
    with tempfile.TemporaryDirectory(prefix=f"bench-{bench.name}-") as tmp:
        args = [a.replace("{tmp}", tmp) for a in module_args(bench, quick)]
        doc = Path(tmp) / "section.md"
        if bench.doc_attr:
            code = (f"import sys, pathlib, {bench.module} as b; b.{bench.doc_attr} = pathlib.Path(sys.argv[1]); "
                    "sys.argv = [b.__file__, *sys.argv[2:]]; raise SystemExit(b.main())")
            cmd = [sys.executable, "-c", code, str(doc), *args, *([bench.write_flag] if bench.write_flag else [])]
        else:
            cmd = [sys.executable, "-m", bench.module, *args]
        print(f"[benchmarks] {bench.name}: python -m {bench.module} {' '.join(args)}", file=sys.stderr, flush=True)
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        started = time.perf_counter()
        try:
            res = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return Outcome(bench, "timeout", time.perf_counter() - started, error=f"over {timeout_s:.0f} s")
        wall = time.perf_counter() - started
        if res.returncode != 0:
            return Outcome(bench, "failed", wall, error=f"exit status {res.returncode} (see stderr above)")
        if bench.doc_attr:
            text = doc.read_text() if doc.is_file() else ""
            match = re.search(rf"^## {re.escape(bench.title)}[ \t]*\n.*?(?=^## |\Z)", text, re.S | re.M)
            section = match.group(0).rstrip() + "\n" if match else None
        else:
            section = extract_section(res.stdout)
            if section is None and "|---" in res.stdout:  # a bare Markdown table: give it its heading
                lines = res.stdout.splitlines()
                first = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
                rows = []
                for ln in lines[first:]:
                    if not ln.startswith("|"):
                        break
                    rows.append(ln)
                shown = " ".join(a.replace(tmp, "TMP") for a in args)
                section = f"## {bench.title}\n\nMeasured with `python -m {bench.module} {shown}`.\n\n" + "\n".join(rows) + "\n"
    if section is None:
        return Outcome(bench, "failed", wall, error="gave no Markdown section")
    return Outcome(bench, "ok", wall, section)
