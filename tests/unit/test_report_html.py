"""The HTML report is one self-contained page: it parses, and holds its chart and its savings table."""

from __future__ import annotations

from html.parser import HTMLParser

from housekeeper.aws.ports import FindingCounts
from housekeeper.core.images import ImageRecord
from housekeeper.operator.report import BYTES_PER_GB, EXPIRE, Report, repository_report
from housekeeper.operator.report_html import render_html


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.table_cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_cell = tag == "td"

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.table_cells.append(data.strip())


def _report() -> Report:
    repositories = []
    for name, count in (("shop/api", 40), ("shop/web", 6), ("ops/<cron>", 3)):
        images = [
            ImageRecord(f"sha256:{name}-{n}", (str(n),), 1_600_000_000 + n, size_bytes=BYTES_PER_GB)
            for n in range(count)
        ]
        findings = {image.digest: FindingCounts(image.digest, {"HIGH": 3}) for image in images}
        outcome = {image.digest: EXPIRE for image in images[: count - 2]}
        repositories.append(repository_report(name, images, findings, outcome))
    return Report(repositories=repositories, generated_at=1_700_000_000)


def test_page_parses_and_holds_the_chart_and_the_savings_table() -> None:
    page = _Page()
    page.feed(render_html(_report()))
    page.close()

    names = [tag for tag, _ in page.tags]
    svg = [attrs for tag, attrs in page.tags if tag == "svg"]
    assert svg and svg[0].get("id") == "impact-chart"
    bars = [attrs for tag, attrs in page.tags if tag == "rect" and "bar" in (attrs.get("class") or "")]
    # Two panels (images, findings) x three repositories x before/after.
    assert len(bars) == 12
    assert ("table", {"id": "largest-savings"}) in page.tags
    assert names.count("tr") == 4  # header + three repositories
    # Largest saving first, names escaped rather than injected.
    assert page.table_cells[0] == "shop/api"
    assert "ops/<cron>" in page.table_cells
    assert "38" in page.table_cells[1:3] or "40" in page.table_cells[1:3]


def test_page_needs_nothing_from_the_network() -> None:
    html = render_html(_report())
    assert "<script" not in html
    assert "<link" not in html
    assert "@import" not in html and "url(" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
