"""Command line: `python -m core demo|build|report` (the benchmark is `python -m benchmarks`).

Each subcommand lives in its own module; this file only parses arguments and maps outcomes to
exit codes (0 ok, 2 bad input the user can fix, 1 anything else), so that no bad input ever ends
in a traceback.
"""

from __future__ import annotations

import os

# The risk models are many small GLM fits: BLAS threads only fight each other on 2 cores (the build's
# risk step used 8x the CPU without this). Set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys
from pathlib import Path

from core.errors import UserError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Scorecard data tools")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="write a synthetic demo source (with truth.json)")
    demo.add_argument("--out", required=True, type=Path, help="folder to write the source into")
    demo.add_argument("--cases", type=int, default=20_000, help="number of cases (default 20000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--format", choices=["csv", "parquet"], default="csv")
    demo.add_argument(
        "--shape",
        choices=["demo", "system"],
        default="demo",
        help="demo: the planted 60-physician hospital; system: a health system's real shape "
        "(one physician per 250 cases a year, 102 procedures; README, Performance)",
    )

    build = sub.add_parser("build", help="validate a source and build the analytics database")
    build.add_argument(
        "--source",
        required=True,
        type=Path,
        help="folder of extract files (CSV, Parquet, or one workbook; optional mapping.toml), or a workbook",
    )
    build.add_argument("--db", required=True, type=Path, help="database file to (re)place")

    report = sub.add_parser("report", help="print one physician's scorecard figures")
    report.add_argument("--db", required=True, type=Path)
    report.add_argument("--physician", required=True)
    report.add_argument("--start", help="first surgery date, inclusive (YYYY-MM-DD)")
    report.add_argument("--end", help="last surgery date, inclusive (YYYY-MM-DD)")
    report.add_argument("--format", choices=["json", "csv"], default="json")

    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand and return its exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo" and args.shape == "system":
            from core.tools.demo_system import write_system_source

            truth = write_system_source(args.out, cases=args.cases, seed=args.seed, fmt=args.format)
            print(
                f"system-shape source written to {args.out} ({truth['cases']} cases, "
                f"{truth['shape_facts']['physicians']} physicians, seed {args.seed})"
            )
            return 0
        if args.command == "demo":
            from core.tools.demo import write_demo_source

            truth = write_demo_source(args.out, cases=args.cases, seed=args.seed, fmt=args.format)
            print(f"demo source written to {args.out} ({truth['cases']} cases, seed {args.seed})")
            return 0
        if args.command == "build":
            from core.build.pipeline import run_build_cli

            return run_build_cli(args.source, args.db)
        if args.command == "report":
            from core.tools.report import run_report_cli

            return run_report_cli(args.db, args.physician, args.start, args.end, args.format)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was changed", file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 - the last line of defence: a message, never a traceback
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
