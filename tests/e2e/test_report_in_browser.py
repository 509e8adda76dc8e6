"""`housekeeper report --html` opened in a real headless Chromium, checked as a person sees the page.

The report is produced by the CLI itself on in-memory gateways (four repositories, Inspector findings per image).
Chromium then serialises the DOM it built (`--dump-dom`), lays the page out in a 1280x1000 window (element boxes
measured by a script in a copy of the page) and paints it (`--screenshot`, decoded here without Pillow).
Every expected figure is computed here from the images and findings handed to the CLI: image ages against the
config's 90-day catch-all, sizes at ECR's $0.10 per GB-month, findings of the images that stay.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from housekeeper.aws.ports import FindingCounts
from housekeeper.cli.main import main
from housekeeper.core.images import ImageRecord

from tests.e2e.browser import PNG_SIGNATURE, dump_dom, find_chromium, measure_layout, read_png, screenshot
from tests.fakes import FakeInspector

pytestmark = pytest.mark.xdist_group("browser")

NOW = 1_700_000_000
DAY = 86_400
GIB = 1024**3
EXPIRE_AFTER_DAYS = 90  # the config's catch-all below; none of the images carries an environment's tag prefix
PRICE_PER_GB_MONTH = 0.10  # ECR standard storage, as the page's note states
WINDOW = (1280, 1000)
BEFORE_COLOUR = (0xB0, 0xB7, 0xC3)  # grey: "now"
AFTER_COLOUR = (0x2E, 0x7D, 0x5B)  # green: "after the lifecycle policy runs"
WHITE = (255, 255, 255)
CARD_VALUE = ".card .value"
CHART = "svg#impact-chart"
BAR = "svg#impact-chart rect.bar"


@dataclass(frozen=True)
class Pushed:
    age_days: int
    size_bytes: int
    critical: int
    high: int


# Ages are far from the 90-day boundary so that whole-day rounding cannot change the outcome.
REPOSITORIES: dict[str, list[Pushed]] = {
    "shop/api": [
        Pushed(400, 2 * GIB, 2, 7),
        Pushed(300, 2 * GIB, 1, 5),
        Pushed(200, 2 * GIB, 1, 4),
        Pushed(150, 2 * GIB, 0, 3),
        Pushed(30, 2 * GIB, 0, 2),
        Pushed(5, 2 * GIB, 0, 1),
    ],
    "shop/web": [Pushed(200, 3 * GIB // 2, 3, 9), Pushed(10, 3 * GIB // 2, 0, 2), Pushed(1, 3 * GIB // 2, 0, 0)],
    "ops/cron": [Pushed(500, GIB // 2, 4, 11), Pushed(365, GIB // 2, 2, 6)],  # everything expires
    "data/etl": [Pushed(age, 5 * GIB, 0, 1) for age in (60, 20, 3, 2)],  # nothing expires
}


def _digest(repository: str, index: int) -> str:
    return "sha256:" + hashlib.sha256(f"{repository}:{index}".encode()).hexdigest()


def _records(repository: str) -> list[ImageRecord]:
    return [
        ImageRecord(_digest(repository, i), (f"build-{i}",), NOW - p.age_days * DAY, size_bytes=p.size_bytes)
        for i, p in enumerate(REPOSITORIES[repository])
    ]


FINDINGS = {
    repository: {
        _digest(repository, i): FindingCounts(_digest(repository, i), {"CRITICAL": p.critical, "HIGH": p.high})
        for i, p in enumerate(pushed)
    }
    for repository, pushed in REPOSITORIES.items()
}


# ------------------------------------------------------------------------------------ expected, from the inputs
@dataclass(frozen=True)
class Side:
    images: int
    size_bytes: int
    findings: int


def _side(pushed: list[Pushed]) -> Side:
    return Side(len(pushed), sum(p.size_bytes for p in pushed), sum(p.critical + p.high for p in pushed))


def _kept(pushed: list[Pushed]) -> list[Pushed]:
    return [p for p in pushed if p.age_days < EXPIRE_AFTER_DAYS]


BEFORE = {name: _side(pushed) for name, pushed in REPOSITORIES.items()}
AFTER = {name: _side(_kept(pushed)) for name, pushed in REPOSITORIES.items()}


def _total(sides: dict[str, Side]) -> Side:
    return Side(
        sum(s.images for s in sides.values()),
        sum(s.size_bytes for s in sides.values()),
        sum(s.findings for s in sides.values()),
    )


def _gb(size_bytes: int) -> str:
    return f"{size_bytes / GIB:,.1f} GB"


def _usd(size_bytes: int) -> str:
    return f"${size_bytes / GIB * PRICE_PER_GB_MONTH:,.2f}"


# ------------------------------------------------------------------------------------------- the DOM, parsed
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    parent: Node | None = None
    own_text: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        """All text inside, whitespace collapsed, as a reader sees it run together."""
        parts: list[str] = []

        def walk(node: Node) -> None:
            parts.extend(node.own_text)
            for child in node.children:
                walk(child)

        walk(self)
        return " ".join(" ".join(parts).split())

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and (cls is None or cls in child.classes):
                found.append(child)
            found.extend(child.find_all(tag, cls))
        return found

    def find(self, tag: str | None = None, cls: str | None = None) -> Node:
        found = self.find_all(tag, cls)
        assert found, f"no <{tag or '*'} class={cls}> in the rendered page"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, parent=self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, {k: v or "" for k, v in attrs}, parent=self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.own_text.append(data)


def _parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium not installed: apt-get install chromium")
    return binary


@pytest.fixture
def report_page(tmp_path: Path, offline_report: Any, capsys: pytest.CaptureFixture[str]) -> Path:
    """The page as `housekeeper report --html` writes it."""
    offline_report({name: _records(name) for name in REPOSITORIES}, FakeInspector(FINDINGS))
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "environments": [{"name": "prod", "tagPrefix": "Prod", "keep": 5, "clusters": ["prod-*"]}],
                "catchAll": {"expireAfterDays": EXPIRE_AFTER_DAYS},
            }
        )
    )
    page = tmp_path / "report.html"
    code = main(["report", "--config", str(config), "--html", str(page), "--now", str(NOW)])
    assert code == 0, capsys.readouterr().err
    assert f"HTML report: {page}" in capsys.readouterr().out
    return page


# ------------------------------------------------------------------------------------------------- tests
def test_rendered_page_shows_the_headline_figures_and_the_chart(chromium: str, report_page: Path) -> None:
    dom = _parse(dump_dom(chromium, report_page))
    body = dom.find("body")
    before, after = _total(BEFORE), _total(AFTER)

    # The cards at the top, label -> value, as printed.
    cards = {card.find(cls="label").text: card.find(cls="value").text for card in body.find_all("div", "card")}
    assert cards == {
        "Images": f"{before.images:,} → {after.images:,}",
        "Storage": f"{_gb(before.size_bytes)} → {_gb(after.size_bytes)}",
        "Inspector findings": f"{before.findings:,} → {after.findings:,}",
        "Findings removed": f"{(before.findings - after.findings) / before.findings:.0%}",
        "Est. saving / month": _usd(before.size_bytes - after.size_bytes),
    }
    assert after.images < before.images and after.findings < before.findings  # the inputs do make a difference
    page_text = body.text
    assert f"{len(REPOSITORIES)} repositories" in page_text
    assert f"${PRICE_PER_GB_MONTH:.2f} per GB-month" in page_text  # the price the saving above was computed with

    # The chart: one inline SVG with two panels (images, findings) of before/after bar pairs per repository.
    charts = body.find_all("svg")
    assert len(charts) == 1 and charts[0].attrs.get("id") == "impact-chart"
    chart = charts[0]
    bars = chart.find_all("rect", "bar")
    assert len(bars) == 2 * 2 * len(REPOSITORIES)
    by_title = {bar.find("title").text: bar for bar in bars}
    assert len(by_title) == len(bars)
    expected_titles = {
        f"{name} {side}: {figures[name].images:,} images" for name in REPOSITORIES for side, figures in _sides()
    } | {f"{name} {side}: {figures[name].findings:,} findings" for name in REPOSITORIES for side, figures in _sides()}
    assert set(by_title) == expected_titles
    for bar in bars:
        side = "before" if "before" in bar.classes else "after"
        assert bar.attrs["fill"].lower() == "#{:02x}{:02x}{:02x}".format(
            *(BEFORE_COLOUR if side == "before" else AFTER_COLOUR)
        )

    # Bar lengths are proportional to the figures, per panel; an emptied repository's "after" bar has no length.
    for metric in ("images", "findings"):
        values = {
            title: _number_in(title) for title in by_title if title.endswith(f" {metric}") and _number_in(title) > 0
        }
        longest = max(values.values())
        scale = max(float(by_title[t].attrs["width"]) for t in values) / longest
        for title, number in values.items():
            assert float(by_title[title].attrs["width"]) == pytest.approx(number * scale, abs=0.1), title
    assert float(by_title["ops/cron after: 0 images"].attrs["width"]) == 0
    assert float(by_title["ops/cron after: 0 findings"].attrs["width"]) == 0

    # Repositories are labelled in the chart, largest first, and each bar has its figure printed next to it.
    labels = [t.text for t in chart.find_all("text") if t.text in REPOSITORIES]
    by_size = sorted(REPOSITORIES, key=lambda name: BEFORE[name].images, reverse=True)
    assert labels == by_size + by_size  # images panel, then findings panel
    printed = [t.text for t in chart.find_all("text")]
    for name in REPOSITORIES:
        for _, figures in _sides():
            assert f"{figures[name].images:,}" in printed and f"{figures[name].findings:,}" in printed

    # The savings table: every repository with its figures, largest saving first.
    table = body.find("table")
    rows = [[cell.text for cell in row.find_all("td")] for row in table.find("tbody").find_all("tr")]
    assert [row[0] for row in rows] == sorted(
        REPOSITORIES, key=lambda n: BEFORE[n].size_bytes - AFTER[n].size_bytes, reverse=True
    )
    for row in rows:
        name = row[0]
        assert row[1:7] == [
            f"{BEFORE[name].images:,}",
            f"{AFTER[name].images:,}",
            _gb(BEFORE[name].size_bytes),
            _gb(AFTER[name].size_bytes),
            f"{BEFORE[name].findings:,}",
            f"{AFTER[name].findings:,}",
        ]
        assert row[8] == _usd(BEFORE[name].size_bytes - AFTER[name].size_bytes)


def test_screenshot_shows_the_figures_and_paints_every_bar(chromium: str, report_page: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    screenshot(chromium, report_page, png, *WINDOW)
    # Layout depends on the width only (the page has no viewport-height units). --dump-dom windows keep some
    # height for browser chrome, so the measuring window is taller: everything is then on screen for hit tests.
    width, height = WINDOW
    layout = measure_layout(chromium, report_page, [CARD_VALUE, CHART, BAR], width, 2 * height)

    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 20_000, f"the screenshot is only {len(data)} bytes"
    image = read_png(png)
    assert (image.width, image.height) == WINDOW
    assert layout.viewport[0] == width
    colours = image.colours()
    assert 0.5 < colours[WHITE] / (image.width * image.height) < 0.99, "a white page with something drawn on it"
    assert len(colours) > 50, "anti-aliased text and bars: a painted page has many shades"
    assert layout.scroll_width <= WINDOW[0], "nothing sticks out sideways: no horizontal scrolling"

    # The five headline figures: laid out inside the window, not covered, and their glyphs painted in their box.
    values = layout.elements[CARD_VALUE]
    assert len(values) == 5
    for value in values:
        assert value.shown and value.on_top and value.inside(*WINDOW), value
        ink = sum(n for colour, n in image.colours(value).items() if sum(colour) < 3 * 128)
        assert ink > 8 * len(value.text.replace(" ", "")), f"{value.text!r} is not drawn: {ink} dark pixels"

    # The chart is inside the window, and within it the grey and green areas are exactly the bars' areas.
    (chart,) = layout.elements[CHART]
    assert chart.shown and chart.inside(*WINDOW), chart
    in_chart = image.colours(chart)
    bars = layout.elements[BAR]
    assert len(bars) == 2 * 2 * len(REPOSITORIES)
    for side, colour in (("before", BEFORE_COLOUR), ("after", AFTER_COLOUR)):
        mine = [bar for bar in bars if side in bar.classes.split()]
        area = sum(bar.width * bar.height for bar in mine)
        # Anti-aliasing takes at most the two edge columns of a bar whose ends fall between pixels.
        slack = sum(2 * math.ceil(bar.height) for bar in mine if bar.width > 0)
        assert area > 0
        assert abs(in_chart[colour] - area) <= slack, (side, in_chart[colour], area)
        # And each bar sits where it was laid out: its middle pixel has its colour.
        for bar in mine:
            assert bar.inside(chart.right, chart.bottom) and bar.left >= chart.left and bar.top >= chart.top, bar
            if bar.width >= 2:
                assert bar.on_top, bar
                assert image.pixel(int((bar.left + bar.right) / 2), int((bar.top + bar.bottom) / 2)) == colour, bar
    # The policy removes images and findings: more grey ("now") is painted than green ("after").
    assert in_chart[BEFORE_COLOUR] > in_chart[AFTER_COLOUR]


def _sides() -> list[tuple[str, dict[str, Side]]]:
    return [("before", BEFORE), ("after", AFTER)]


def _number_in(title: str) -> int:
    return int(title.rsplit(": ", 1)[1].split()[0].replace(",", ""))
