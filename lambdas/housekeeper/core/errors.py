"""Project exceptions. Everything the product raises on purpose derives from HousekeeperError."""

from __future__ import annotations

from dataclasses import dataclass


class HousekeeperError(Exception):
    """Base of every deliberate failure; the CLI maps it to exit code 1 (or 2 for bad input)."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: where (a JSON path such as `$.environments[1].keep`) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        """The JSON shape every output uses (CLI --output json, Lambda results, logs)."""
        return {"path": self.path, "message": self.message}


class InvalidInput(HousekeeperError):
    """Input that retrying cannot fix (bad config, bad policy, malformed event). CLI exit code 2."""

    def __init__(self, what: str, problems: list[Problem]) -> None:
        self.what = what
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{what}: {len(self.problems)} problem(s)\n{lines}")


class ConfigInvalid(InvalidInput):
    """The central config failed validation; `problems` carries every JSON path."""

    def __init__(self, problems: list[Problem], source: str = "config") -> None:
        super().__init__(f"invalid {source}", problems)


class PolicyInvalid(InvalidInput):
    """A lifecycle policy breaks an ECR constraint; each problem names the rule and the constraint."""

    def __init__(self, problems: list[Problem], source: str = "lifecycle policy") -> None:
        super().__init__(f"invalid {source}", problems)


class MalformedEvent(InvalidInput):
    """An event that cannot be parsed. Raised so that the event ends in the DLQ, never dropped."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__("malformed event", [Problem(path, message)])
