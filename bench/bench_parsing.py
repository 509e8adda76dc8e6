"""Event parsing benchmark: Powertools' event source data classes against its parser (pydantic v2).

The handlers read EventBridge and SQS events with the data classes (`EventBridgeEvent`, `SQSEvent`) and the small
checks in `housekeeper.handlers.events`; the alternative is the parser (`parse(event, model=EventBridgeModel)`,
`SqsModel`). Two costs decide it, each measured in one run:

- cold start: wall-clock of a fresh `python -c "<imports>"`, the median of ROUNDS runs with the commands taking
  turns, minus the bare interpreter (`python -c pass`), and the child's peak resident set. The parser is measured
  alone (against the data classes alone), and timed inside a child that has already imported what the handlers
  import anyway (`housekeeper.handlers.events`, the whole `sync_repository` handler): what switching would add;
- per event: an ECS Deployment State Change (tests/fixtures/events) and an SQS batch of 10 sync messages, read by
  the data classes plus `events.deployment` / `events.sync_message`, and by `parse(...)` (for SQS also with each
  body read into a model through `SqsEnvelope`, as a parser-based worker would), as ratios to a `json.loads` of the
  same event timed alongside.

Every child imports from bytecode (a private `pycache_prefix`, filled by an untimed first run of each command), as
from the Powertools layer, so no figure includes compiling sources. The parser needs pydantic v2; where it cannot be
imported its figures are reported as skipped, with the reason: this benchmark installs nothing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, SQSEvent
from housekeeper.handlers import events
from housekeeper.logic.tagging import DeploymentEvent
from housekeeper.logic.worker import SyncMessage

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 7
REPEATS = 7
DEPLOYMENT_EVENT = ROOT / "tests" / "fixtures" / "events" / "deployment_completed.json"
BATCH = 10

DATA_CLASSES = "from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, SQSEvent"
EVENTS = "import housekeeper.handlers.events"
PARSER = (
    "from aws_lambda_powertools.utilities.parser import parse, envelopes; "
    "from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsModel"
)
WORKER = "import housekeeper.handlers.sync_repository"
# name: (imported first, imported and timed in the child). The second part of "events + parser" is what the parser
# would add to a handler that has already imported what it imports today.
COMMANDS = {
    "bare": ("", "pass"),
    "data classes": ("", DATA_CLASSES),
    "events": ("", EVENTS),
    "worker": ("", WORKER),
    "parser": ("", PARSER),
    "events + parser": (EVENTS, PARSER),
    "worker + parser": (WORKER, PARSER),
}
NEEDS_PARSER = frozenset({"parser", "events + parser", "worker + parser"})
# The child prints the seconds of its timed part and its peak resident KiB (VmHWM; Linux only, else "-").
CHILD = """{before}
import time as _time
_started = _time.perf_counter()
{timed}
_seconds = _time.perf_counter() - _started
try:
    with open("/proc/self/status") as _status:
        _peak = next(line.split()[1] for line in _status if line.startswith("VmHWM"))
except (OSError, StopIteration):
    _peak = "-"
print(_seconds, _peak)
"""


def parser_unavailable() -> str | None:
    """Why this interpreter cannot run the parser (Powertools v3 needs pydantic v2), or None."""
    try:
        version = importlib.metadata.version("pydantic")
    except importlib.metadata.PackageNotFoundError:
        return "pydantic is not installed here; the parser needs pydantic v2, and this benchmark installs nothing"
    if not version.startswith("2."):
        return f"pydantic {version} is installed; the Powertools v3 parser needs pydantic v2"
    return None


def _child_env(pycache: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'lambdas'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the first run writes the bytecode, to the private prefix only
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _first_run(code: str, env: dict[str, str]) -> str | None:
    """Run once, untimed (it compiles into the prefix); the error's last line if the command fails."""
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit code {done.returncode}"


class Imported(NamedTuple):
    seconds: float  # median wall-clock of the whole process
    timed: float  # median seconds of the child's timed imports, measured inside the child
    mib: float | None  # median peak resident set, as the child reports it (Linux only)


def _timed_run(code: str, env: dict[str, str]) -> tuple[float, float, int | None]:
    """Wall seconds of one child, the seconds it reports for its timed part, and its peak resident KiB.

    The peak is the child's own high-water mark (`VmHWM`), which starts at its exec, and not `ru_maxrss` from
    `os.wait4`: Linux counts in that the resident set of this parent, which the child shares until its exec.
    """
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"python -c {code!r} exited {done.returncode}")
    timed, peak = done.stdout.split()[-2:]
    return seconds, float(timed), int(peak) if peak.isdigit() else None


def measure_imports(
    commands: dict[str, tuple[str, str]], optional: frozenset[str] = frozenset(), rounds: int = ROUNDS
) -> tuple[dict[str, Imported], str | None]:
    """Medians per command over `rounds` fresh children, the commands taking turns in each round.

    If an optional command fails its first run, every optional command is dropped and the error comes back.
    """
    codes = {name: CHILD.format(before=before, timed=timed) for name, (before, timed) in commands.items()}
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-parsing-pycache-") as pycache:
        env = _child_env(pycache)
        for name, code in codes.items():
            problem = _first_run(code, env)
            if problem and name not in optional:
                raise RuntimeError(f"{name}: {problem}")
            if problem:
                problems.append(problem)
        if problems:
            codes = {name: code for name, code in codes.items() if name not in optional}
        runs: dict[str, list[tuple[float, float, int | None]]] = {name: [] for name in codes}
        for _ in range(rounds):
            for name, code in codes.items():
                runs[name].append(_timed_run(code, env))
    figures = {}
    for name, results in runs.items():
        peaks = [peak for _, _, peak in results if peak is not None]
        figures[name] = Imported(
            seconds=statistics.median(wall for wall, _, _ in results),
            timed=statistics.median(timed for _, timed, _ in results),
            mib=statistics.median(peaks) / 1024 if peaks else None,
        )
    return figures, (f"the parser import failed: {problems[0]}" if problems else None)


def per_call(function: Callable[[], object]) -> float:
    """Seconds per call: the median of REPEATS timings, each of enough calls to take about 0.1 s."""
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    number = max(1, number // 2)
    return statistics.median(timer.repeat(repeat=REPEATS, number=number)) / number


def sqs_batch(size: int = BATCH) -> dict[str, Any]:
    """An SQS event as Lambda delivers it to the worker: `size` messages as plan_sync queues them."""
    records = []
    for n in range(size):
        body = json.dumps({"repositoryName": f"team-{n % 4}/service-{n}", "trigger": "sweep"}, sort_keys=True)
        records.append(
            {
                "messageId": f"0b6e3f4a-2c1d-4e5f-8a9b-{n:012d}",
                "receiptHandle": "AQEB" + hashlib.sha256(str(n).encode()).hexdigest() * 5,
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764656400000",
                    "SenderId": "AROAEXAMPLE:ecr-housekeeper-plan-sync",
                    "ApproximateFirstReceiveTimestamp": "1764656400050",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ecr-housekeeper-sync",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def measure_events(with_parser: bool) -> dict[str, float | None]:
    """Seconds per event for json.loads, the data classes and (if available) the parser, on both samples."""
    deployment = json.loads(DEPLOYMENT_EVENT.read_text(encoding="utf-8"))
    batch = sqs_batch()
    deployment_text, batch_text = json.dumps(deployment), json.dumps(batch)

    def read_deployment() -> DeploymentEvent:
        return events.deployment(EventBridgeEvent(deployment))

    def read_batch() -> list[SyncMessage]:
        return [events.sync_message(record) for record in SQSEvent(batch).records]

    # Each path must have read the samples in full before its timings mean anything.
    if read_deployment().service != "servicetest" or len(read_batch()) != BATCH:
        raise RuntimeError("the data classes did not read the sample events")
    figures: dict[str, float | None] = {
        "eb json": per_call(lambda: json.loads(deployment_text)),
        "eb data classes": per_call(read_deployment),
        "sqs json": per_call(lambda: json.loads(batch_text)),
        "sqs data classes": per_call(read_batch),
        "eb parser": None,
        "sqs parser": None,
        "sqs parser bodies": None,
    }
    if with_parser:
        from aws_lambda_powertools.utilities.parser import BaseModel, envelopes, parse
        from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsModel

        class SyncBody(BaseModel):  # what a parser-based worker would read each body into
            repositoryName: str  # noqa: N815 (the message's own key)
            trigger: str = "manual"

        parsed_deployment, parsed_batch = parse(deployment, model=EventBridgeModel), parse(batch, model=SqsModel)
        bodies = parse(batch, model=SyncBody, envelope=envelopes.SqsEnvelope)
        if (
            not parsed_deployment.resources[0].endswith("/servicetest")
            or len(parsed_batch.Records) != BATCH
            or not isinstance(bodies, list)
            or len(bodies) != BATCH
        ):
            raise RuntimeError("the parser did not read the sample events")
        figures["eb parser"] = per_call(lambda: parse(deployment, model=EventBridgeModel))
        figures["sqs parser"] = per_call(lambda: parse(batch, model=SqsModel))
        figures["sqs parser bodies"] = per_call(lambda: parse(batch, model=SyncBody, envelope=envelopes.SqsEnvelope))
    return figures


def _ratio(a: float | None, b: float | None) -> float | str:
    return round(a / b, 2) if a is not None and b else "skipped"


def _ms(seconds: float | None) -> float | str:
    return round(seconds * 1000, 1) if seconds is not None else "skipped"


def _us(seconds: float | None) -> float | str:
    return round(seconds * 1e6, 1) if seconds is not None else "skipped"


def run() -> dict[str, Any]:
    unavailable = parser_unavailable()
    commands = {name: code for name, code in COMMANDS.items() if not (unavailable and name in NEEDS_PARSER)}
    imports, failed = measure_imports(commands, optional=NEEDS_PARSER)
    unavailable = unavailable or failed
    bare = imports["bare"].seconds

    def over_bare(name: str) -> float | None:
        return imports[name].seconds - bare if name in imports else None

    def mib(name: str) -> float | str:
        if name not in imports:
            return "skipped"
        peak = imports[name].mib
        return round(peak, 1) if peak is not None else "n/a"

    def added(name: str) -> float | None:
        return imports[name].timed if name in imports else None

    per_event = measure_events(with_parser=unavailable is None)
    eb_json, sqs_json = per_event["eb json"], per_event["sqs json"]
    return {
        "parser (pydantic v2)": f"skipped: {unavailable}" if unavailable else importlib.metadata.version("pydantic"),
        # Headline: ratios measured in this run. Import figures are over the bare interpreter, except what the parser
        # adds after a handler's imports, which the child times itself.
        "ratio import parser / data classes (the libraries alone)": _ratio(
            over_bare("parser"), over_bare("data classes")
        ),
        "ratio import parser / housekeeper.handlers.events": _ratio(over_bare("parser"), over_bare("events")),
        "ratio import parser added to events / events": _ratio(added("events + parser"), over_bare("events")),
        "ratio import parser added to sync_repository / sync_repository": _ratio(
            added("worker + parser"), over_bare("worker")
        ),
        "ratio EventBridge parse / json.loads, data classes": _ratio(per_event["eb data classes"], eb_json),
        "ratio EventBridge parse / json.loads, parser": _ratio(per_event["eb parser"], eb_json),
        f"ratio SQS batch of {BATCH} / json.loads, data classes": _ratio(per_event["sqs data classes"], sqs_json),
        f"ratio SQS batch of {BATCH} / json.loads, parser": _ratio(per_event["sqs parser"], sqs_json),
        f"ratio SQS batch of {BATCH} / json.loads, parser with bodies": _ratio(
            per_event["sqs parser bodies"], sqs_json
        ),
        # The figures behind them.
        f"runs per import (median of {ROUNDS}, commands taking turns)": ROUNDS,
        "python -c pass, ms": _ms(bare),
        "import data classes (EventBridgeEvent, SQSEvent), ms over bare": _ms(over_bare("data classes")),
        "import parser (parse, envelopes, EventBridgeModel, SqsModel), ms over bare": _ms(over_bare("parser")),
        "import housekeeper.handlers.events, ms over bare": _ms(over_bare("events")),
        "parser imported after housekeeper.handlers.events, ms (in the child)": _ms(added("events + parser")),
        "import housekeeper.handlers.sync_repository, ms over bare": _ms(over_bare("worker")),
        "parser imported after sync_repository, ms (in the child)": _ms(added("worker + parser")),
        "peak MiB: bare / data classes / parser": f"{mib('bare')} / {mib('data classes')} / {mib('parser')}",
        "peak MiB: events / events + parser": f"{mib('events')} / {mib('events + parser')}",
        "peak MiB: sync_repository / sync_repository + parser": f"{mib('worker')} / {mib('worker + parser')}",
        "EventBridge event: json.loads us": _us(eb_json),
        "EventBridge event: EventBridgeEvent + events.deployment us": _us(per_event["eb data classes"]),
        "EventBridge event: parse(model=EventBridgeModel) us": _us(per_event["eb parser"]),
        f"SQS batch of {BATCH}: json.loads us": _us(sqs_json),
        f"SQS batch of {BATCH}: SQSEvent + events.sync_message each us": _us(per_event["sqs data classes"]),
        f"SQS batch of {BATCH}: parse(model=SqsModel) us (bodies left as text)": _us(per_event["sqs parser"]),
        f"SQS batch of {BATCH}: parse(model=SyncBody, envelope=SqsEnvelope) us": _us(per_event["sqs parser bodies"]),
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")
