"""CLI benchmark: the three figures people feel, each a ratio measured in one run (issue 10).

- `housekeeper validate` against `python -c "import boto3"`: an offline command must not pay for the AWS SDK
  (goal: at most 0.5x);
- `housekeeper simulate --output json` on 100,000 images (the evaluator bench's repository and 20-rule policy)
  against `json.load` plus `json.dump` of the same file: time and peak memory (goal: at most 2x each);
- `housekeeper validate` on a config with 2,000 environments (goal: under a second).

Every figure is a whole process started from the shell's point of view (interpreter start-up included), timed
best of N with the two commands of a pair taking turns, and its peak memory read from the kernel's accounting of
that one child process (`os.wait4`, ru_maxrss).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_evaluator import NOW, synthetic_describe_images, twenty_rule_policy

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 5
IMAGES = 100_000
ENVIRONMENTS = 2_000
# The console script `pip install -e .` puts beside the interpreter, as a user runs it (else the module).
_SCRIPT = Path(sys.executable).with_name("housekeeper")
HOUSEKEEPER = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "housekeeper.cli.main"]
JSON_ROUND_TRIP = (
    "import json, sys\n"
    "with open(sys.argv[1], encoding='utf-8') as f: data = json.load(f)\n"
    "json.dump(data, sys.stdout)\n"
)


def _run(argv: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak resident KiB, exit code of one child process (its output goes to /dev/null)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'lambdas'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with open(os.devnull, "w") as sink:  # noqa: PTH123
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss, process.returncode


def _pair(a: list[str], b: list[str], rounds: int = ROUNDS) -> dict[str, Any]:
    """A and B in turn, `rounds` times each after one warm-up; best times and peak memories."""
    _run(a)
    _run(b)
    times_a, times_b, peak_a, peak_b, codes = [], [], 0, 0, set()
    for _ in range(rounds):
        seconds, peak, code = _run(a)
        times_a.append(seconds)
        peak_a = max(peak_a, peak)
        codes.add(code)
        seconds, peak, _ = _run(b)
        times_b.append(seconds)
        peak_b = max(peak_b, peak)
    return {"a": min(times_a), "b": min(times_b), "peak_a": peak_a, "peak_b": peak_b, "codes": sorted(codes)}


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        images = work / "images.json"
        images.write_text(json.dumps(synthetic_describe_images(IMAGES)), encoding="utf-8")
        policy = work / "policy.json"
        policy.write_text(json.dumps(twenty_rule_policy()), encoding="utf-8")
        big_config = work / "environments.json"
        environments = [
            {"name": f"env-{n}", "tagPrefix": f"E{n:04d}", "keep": 3, "clusters": [f"env-{n}-*"]}
            for n in range(ENVIRONMENTS)
        ]
        big_config.write_text(json.dumps({"environments": environments, "catchAll": {"expireAfterDays": 90}}))

        validate = _pair([*HOUSEKEEPER, "validate", "config/example.json"], [sys.executable, "-c", "import boto3"])
        simulate = _pair(
            [*HOUSEKEEPER, "simulate", "--policy", str(policy), "--images", str(images), "--output", "json",
             f"--now={NOW}"],
            [sys.executable, "-c", JSON_ROUND_TRIP, str(images)],
            rounds=3,
        )  # fmt: skip
        many = _pair([*HOUSEKEEPER, "validate", str(big_config)], [sys.executable, "-c", "pass"], rounds=3)
        file_mb = images.stat().st_size / 1e6
    return {
        "validate seconds (best)": round(validate["a"], 3),
        "python -c 'import boto3' seconds (best)": round(validate["b"], 3),
        "ratio validate / import boto3 (goal <= 0.5)": round(validate["a"] / validate["b"], 2),
        f"simulate --output json, {IMAGES:,} images ({file_mb:.0f} MB), seconds": round(simulate["a"], 2),
        "json.load + json.dump of the same file, seconds": round(simulate["b"], 2),
        "ratio simulate / (load + dump) time (goal <= 2)": round(simulate["a"] / simulate["b"], 2),
        "simulate peak MiB": round(simulate["peak_a"] / 1024),
        "json.load + json.dump peak MiB": round(simulate["peak_b"] / 1024),
        "ratio simulate / (load + dump) peak memory (goal <= 2)": round(simulate["peak_a"] / simulate["peak_b"], 2),
        "simulate exit codes": simulate["codes"],
        f"validate {ENVIRONMENTS:,} environments, seconds (goal < 1)": round(many["a"], 3),
        "python start-up alone, seconds": round(many["b"], 3),
        "validate of many environments exit codes (2: the policy has 2,001 rules)": many["codes"],
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")
