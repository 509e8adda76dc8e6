"""Run every benchmark module in bench/ and print its figures.

Each `bench/bench_<name>.py` exposes `run() -> dict` of figure name to value; new modules are picked up without
touching this file. `python -m bench evaluator` runs only the named ones. Figures go to docs/PERFORMANCE.md by hand,
with the command and the machine, because they depend on the machine.
"""

from __future__ import annotations

import importlib
import platform
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent


def discover(selected: list[str]) -> list[str]:
    names = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    if selected:
        unknown = [name for name in selected if f"bench_{name}" not in names and name not in names]
        if unknown:
            raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}")
        names = [name for name in names if name in selected or name.removeprefix("bench_") in selected]
    return names


def print_figures(name: str, figures: dict[str, Any], seconds: float) -> None:
    print(f"\n== {name} ({seconds:.1f} s)")
    width = max((len(key) for key in figures), default=0)
    for key, value in figures.items():
        print(f"  {key.ljust(width)}  {value}")


def main(argv: list[str]) -> int:
    print(f"python {platform.python_version()} on {platform.machine()} ({platform.system()}), {platform.processor()}")
    failed = []
    for name in discover(argv):
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        try:
            figures = module.run()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            print(f"\n== {name}: FAILED: {exc!r}")
            failed.append(name)
            continue
        print_figures(name, figures, time.perf_counter() - started)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
