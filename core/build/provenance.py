"""Whether a source is the generated demo data set: verified by regenerating it, never taken on trust.

Demo mode opens the app without sign-in, with a persona picker that lets anyone act as any roster user
(README, *Sign-in*). So "this is the demo" must be something only the generator can make true: a
`truth.json` saying `"generator": "scorecard-demo"` can be written by anyone, and so can a checksum
kept beside the data (whoever edits the data recomputes it). Instead the build reruns the generator
(`python -m core demo`, deterministic for a seed, size and format) with the seed, size and format the
source's truth.json records, in a temporary folder, and compares the content hash of every extract
table. Only an exact match is "demo"; anything else — an edited row, an extra file, a truth.json
with other values, a generator that fails — is "real", and real data is served only behind sign-in.

The generator runs as a subprocess because the build layer does not import the tools layer
(.importlinter); at the demo's size (20,000 cases) the check costs about two seconds (README,
*Demo data*).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DEMO_GENERATOR = "scorecard-demo"
# A truth.json asking for more than this is not the demo (and must not make the build generate it).
MAX_DEMO_CASES = 200_000
TABLE_SUFFIXES = (".csv", ".parquet")
_ROOT = Path(__file__).resolve().parents[2]


def table_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every extract table file in `folder` (csv and parquet), by file name."""
    out = {}
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and path.suffix in TABLE_SUFFIXES:
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 22):
                    digest.update(chunk)
            out[path.name] = digest.hexdigest()
    return out


def _claimed(source: Path) -> tuple[int, int, str] | None:
    """(seed, cases, format) a truth.json claims for the demo generator, or None."""
    try:
        truth = json.loads((source / "truth.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(truth, dict) or truth.get("generator") != DEMO_GENERATOR:
        return None
    seed, cases, fmt = truth.get("seed"), truth.get("cases"), truth.get("format")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (seed, cases)):
        return None
    if fmt not in ("csv", "parquet") or not (0 <= seed < 2**32) or not (0 < cases <= MAX_DEMO_CASES):
        return None
    return seed, cases, fmt


def source_kind(source: Path) -> str:
    """'demo' when regenerating the demo from the seed, size and format in the source's truth.json gives
    exactly the source's extract tables (same names, same bytes) and truth.json; else 'real'."""
    source = Path(source)
    claimed = _claimed(source)
    if claimed is None:
        return "real"
    seed, cases, fmt = claimed
    with tempfile.TemporaryDirectory(prefix="scorecard-demo-check-") as tmp:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(_ROOT)}
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "core",
                    "demo",
                    "--out",
                    tmp,
                    "--cases",
                    str(cases),
                    "--seed",
                    str(seed),
                    "--format",
                    fmt,
                ],
                cwd=_ROOT,
                env=env,
                capture_output=True,
                timeout=600,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return "real"
        if done.returncode != 0:
            return "real"
        fresh = Path(tmp)
        same_tables = table_hashes(fresh) == table_hashes(source)
        try:
            same_truth = (fresh / "truth.json").read_bytes() == (source / "truth.json").read_bytes()
        except OSError:
            return "real"
        return "demo" if same_tables and same_truth else "real"
