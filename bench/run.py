"""The single entry point for the benchmarks (never run in CI).

    .venv/bin/python bench/run.py api_upsert  [options of bench/api_upsert.py]
    .venv/bin/python bench/run.py bulk_import [options of bench/bulk_import.py]
    .venv/bin/python bench/run.py all                     # both, with their defaults
    .venv/bin/python bench/run.py --wait-quiet 600 all    # first wait for the machine to go idle

Each benchmark creates its own database (dm_bench), drops it at the end, and uses Redis keys under
a prefix of its own. Results are printed and written to var/bench/<benchmark>-<time>.json; the
figures quoted in docs/benchmarks.md come from those files. Loading fixture data for other
benchmarks: bench/generate.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import api_upsert, bulk_import
from bench.common import wait_for_quiet

BENCHMARKS = {"api_upsert": api_upsert.main, "bulk_import": bulk_import.main}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="wait up to SECONDS for the machine's CPUs to be idle before each benchmark",
    )
    parser.add_argument("benchmark", choices=[*BENCHMARKS, "all"])
    args, rest = parser.parse_known_args()
    names = list(BENCHMARKS) if args.benchmark == "all" else [args.benchmark]
    if args.benchmark == "all" and rest:
        parser.error("options go with a single benchmark, not with `all`")
    for name in names:
        if args.wait_quiet:
            wait_for_quiet(args.wait_quiet)
        BENCHMARKS[name](rest)


if __name__ == "__main__":
    main()
