"""`python -m benchmarks [--cases N ...]`: build and time Scorecard at each size against the pandas and Polars baselines."""

from __future__ import annotations

import os

# The risk models are many small GLM fits: BLAS threads only fight each other on 2 cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the benchmark; exit 1 when a baseline disagrees."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--cases", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--shape",
        choices=["system", "demo"],
        default="system",
        help="system: a health system's real shape (default); demo: the planted demo hospital",
    )
    parser.add_argument("--flags", type=int, default=100, help="case flags to accept for the flag measurement")
    parser.add_argument("--no-polars", action="store_true", help="skip the Polars baseline")
    parser.add_argument(
        "--reuse-build",
        action="store_true",
        help="measure again on the database the last run built (keeping that run's build record)",
    )
    parser.add_argument("--table", action="store_true", help="print the README's table from the results; run nothing")
    parser.add_argument("--delete", action="store_true", help="delete the source and database after the run")
    parser.add_argument("--baseline-requests", type=int, default=None, help="requests timed per baseline")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--personas", type=int, default=10, help="page renders to time")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/work"))
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--no-page", action="store_true", help="skip the AppTest page timings")
    from benchmarks.bench import run_bench_cli

    return run_bench_cli(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
