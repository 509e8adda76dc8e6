"""InspectorGateway in memory."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from housekeeper.aws.errors import AccessDenied
from housekeeper.aws.ports import FindingCounts


class FakeInspector:
    """Findings per repository and image digest. A repository in `denied` raises AccessDenied, as Inspector does
    when it is not enabled or the caller may not read it (the report then says "unknown")."""

    def __init__(
        self, findings: Mapping[str, Mapping[str, FindingCounts]] | None = None, denied: Collection[str] = ()
    ) -> None:
        self.findings = {repository: dict(by_digest) for repository, by_digest in (findings or {}).items()}
        self.denied = frozenset(denied)

    def findings_by_image(self, repository: str) -> dict[str, FindingCounts]:
        if repository in self.denied:
            raise AccessDenied("inspector2:ListFindingAggregations", "AccessDeniedException", "not enabled")
        return dict(self.findings.get(repository, {}))
