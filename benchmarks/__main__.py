"""`python -m benchmarks [--cases N ...]`: build and time Scorecard at each size against the baselines."""

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
    parser.add_argument("--cases", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
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
