"""``python -m bench [--quick]``: build homes in a temporary folder, run every benchmark, print one table.

Each module ``bench/bench_*.py`` exposes ``run(workdir: Path, quick: bool) -> list[Result]``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path

from bench.common import Result


def _table(results: list[Result]) -> str:
    header = ("benchmark", "ours", "reference", "ref median", "ratio", "target", "result")
    rows = [header]
    for r in results:
        rows.append((
            r.name,
            "-" if r.ours_s is None else f"{r.ours_s * 1000:.1f} ms" if r.unit == "s" else f"{r.ours_s:.1f} {r.unit}",
            r.reference_name,
            "-" if r.reference_s is None
            else f"{r.reference_s * 1000:.1f} ms" if r.unit == "s" else f"{r.reference_s:.1f} {r.unit}",
            "-" if r.ratio is None else f"{r.ratio:.2f}",
            "-" if r.target is None else f"<= {r.target:g}",
            r.verdict + (f" ({r.note})" if r.note else ""),
        ))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data and fewer repeats (for CI)")
    parser.add_argument("--only", help="run only modules whose name contains this text")
    args = parser.parse_args(argv)
    results: list[Result] = []
    import bench

    with tempfile.TemporaryDirectory(prefix="msb-bench-") as tmp:
        for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
            if not info.name.startswith("bench_") or (args.only and args.only not in info.name):
                continue
            module = importlib.import_module(f"bench.{info.name}")
            workdir = Path(tmp) / info.name
            workdir.mkdir()
            print(f"running {info.name} ...", file=sys.stderr, flush=True)
            results.extend(module.run(workdir, args.quick))
    print(f"msb-tui benchmarks, {date.today()}, {os.cpu_count()} cores, Python {platform.python_version()}"
          f"{' (quick)' if args.quick else ''}")
    print(_table(results))
    return 1 if any(r.verdict == "MISS" for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
