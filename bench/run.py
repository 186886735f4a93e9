"""Run every bench/bench_*.py and print one table of figures.

Each module exposes `rows() -> list[dict]` with keys name, value, unit, target, ok. Modules
run in name order; one that raises is reported as a failed row and the others still run.
`python bench/run.py seed metrics` runs only bench_seed and bench_metrics.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("benchmark", "value", "unit", "target", "ok")


def discover(only: list[str]) -> list[str]:
    """bench_*.py module names, all of them or those named on the command line (seed, …)."""
    names = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in only}
    return [n for n in names if not wanted or n in wanted]


def _format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render(rows: list[dict]) -> str:
    table = [COLUMNS] + [
        (
            str(r["name"]),
            _format_value(r["value"]),
            str(r["unit"]),
            str(r["target"]),
            "yes" if r["ok"] else "NO",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = []
    for n, line in enumerate(table):
        cells = [
            cell.rjust(w) if i in (1,) and n else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xmplatform.settings")
    import django

    django.setup()
    rows: list[dict] = []
    for name in discover(sys.argv[1:]):
        try:
            module = importlib.import_module(f"bench.{name}")
            rows.extend(module.rows())
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            rows.append(
                {
                    "name": name,
                    "value": "error",
                    "unit": type(exc).__name__,
                    "target": "-",
                    "ok": False,
                }
            )
    print(render(rows))
    if not rows:
        print("\nNo benchmarks found: add bench/bench_<topic>.py with a rows() function.")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
