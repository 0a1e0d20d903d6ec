"""Quality benchmark as a script: same as ``musiclatent benchmark quality`` (all its options work).

    python benchmarks/bench_quality.py --budget-s 120 --threads 1 --out /tmp/quality

The library code is ``musiclatent.quality.benchmark.run_quality``; this script only forwards to
the CLI command so both stay one implementation.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from musiclatent.cli import main as cli_main

    return cli_main(["benchmark", "quality", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
