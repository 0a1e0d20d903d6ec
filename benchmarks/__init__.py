"""musiclatent's benchmark suite: ``python -m benchmarks [--quick] [--only NAMES] [--out FILE]``.

Each ``bench_<name>.py`` module measures one part (see ``benchmarks.common.BENCHMARKS``) and
prints a Markdown section; ``python -m benchmarks`` runs them and writes docs/performance.md.
"""
