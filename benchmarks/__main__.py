"""``python -m benchmarks``: run every benchmark module and write one Markdown page.

    python -m benchmarks                      # everything, writes docs/performance.md
    python -m benchmarks --quick              # small sizes, minutes not tens of minutes
    python -m benchmarks --only encode,scale  # some of them
    python -m benchmarks --out -              # print, write nothing

Each module runs in its own process; its Markdown section replaces the section of the same
title in ``--out`` (other sections, e.g. written by hand, stay). A ``## Summary`` section at the
top says which modules ran, how long they took, and the machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks.common import (
    DEFAULT_OUT,
    Outcome,
    by_name,
    machine_line,
    md_table,
    replace_sections,
    run_benchmark,
)

HEADER = "# Performance\n\nWritten by `python -m benchmarks` (see docs/scale.md); sections below are replaced on each run.\n"


def summary_section(outcomes: list[Outcome], argv: list[str], quick: bool) -> str:
    """The ``## Summary`` section: the command, the machine, one row per benchmark module."""
    rows = [{"name": o.bench.name, "section": o.bench.title if o.status == "ok" else "",
             "status": o.status + (f": {o.error}" if o.error else ""), "wall_s": round(o.wall_s, 1),
             "what": o.bench.what} for o in outcomes]
    cmd = " ".join(["python -m benchmarks", *argv]).strip()
    return "\n".join([
        "## Summary", "",
        f"Command: `{cmd}`{' (quick sizes)' if quick else ''}. Sections not in the table below come from "
        "earlier runs; each names its own command.", "",
        f"Machine: {machine_line()}.", "",
        "The development machine's 2 cores were shared with other engineers' jobs while these ran "
        "(see the load average): absolute numbers are rough, ratios measured in one run "
        "(engine vs engine, size vs size) are the reliable part.", "",
        md_table(rows, [("name", "benchmark"), ("section", "section"), ("status", "status"),
                        ("wall_s", "wall s"), ("what", "measures")]),
    ]) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes in all)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(by_name())}")
    parser.add_argument("--out", default=str(DEFAULT_OUT),
                        help="Markdown file to update (default: docs/performance.md); '-' prints only")
    parser.add_argument("--timeout", type=float, default=None, help="seconds allowed per module")
    args = parser.parse_args(argv)
    known = by_name()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(known)}")
    started = time.perf_counter()
    outcomes = [run_benchmark(known[n], args.quick, args.timeout) for n in names]
    for o in outcomes:
        if o.status != "ok":
            print(f"[benchmarks] {o.bench.name}: {o.status}: {o.error}", file=sys.stderr)
    sections = [summary_section(outcomes, argv, args.quick)] + [o.section for o in outcomes if o.section]
    if args.out == "-":
        print("\n".join(sections))
    else:
        out = Path(args.out)
        text = out.read_text() if out.exists() else HEADER
        if "\n## Summary" not in "\n" + text:  # the summary goes first, before every other section
            head, sep, rest = text.partition("\n## ")
            text = head.rstrip("\n") + "\n\n## Summary\n\n" + (sep.lstrip("\n") + rest if sep else "")
        from musiclatent.fileio import atomic_write_text

        atomic_write_text(out, replace_sections(text, sections))
        print(f"[benchmarks] wrote {out} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    ran = [o for o in outcomes if o.status != "missing"]
    return 0 if ran and all(o.status == "ok" for o in ran) else 1


if __name__ == "__main__":
    sys.exit(main())
