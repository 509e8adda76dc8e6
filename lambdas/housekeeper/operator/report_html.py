"""The impact report as one self-contained HTML page: inline CSS and an inline SVG chart, nothing fetched.

It opens offline, from a mail attachment or a ticket, and prints well: no scripts, no web fonts, no images.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from housekeeper.operator.report import BYTES_PER_GB, Report, RepositoryReport

CHART_REPOSITORIES = 15
SAVINGS_ROWS = 10
BEFORE_COLOUR = "#b0b7c3"
AFTER_COLOUR = "#2e7d5b"

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem; color: #1d2733; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
p.meta { color: #5b6675; margin-top: 0; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0 1.5rem; }
.card { border: 1px solid #d8dde4; border-radius: 6px; padding: .8rem 1rem; min-width: 11rem; }
.card .label { color: #5b6675; font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 1.3rem; font-weight: 600; }
table { border-collapse: collapse; margin-top: .5rem; }
th, td { padding: .35rem .7rem; border-bottom: 1px solid #e3e7ec; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f5f8; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; vertical-align: middle; }
.note { color: #5b6675; font-size: .85rem; max-width: 60rem; }
"""


def _gb(size_bytes: int) -> str:
    return f"{size_bytes / BYTES_PER_GB:,.1f} GB"


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


def _percent(before: int, after: int) -> str:
    return "n/a" if before == 0 else f"{(before - after) / before:.0%}"


def _bar_panel(
    rows: list[RepositoryReport], title: str, metric: str, x: int, width: int, label_width: int, row_height: int
) -> list[str]:
    """One panel of paired horizontal bars (before above, after below) per repository."""

    def value(figures_owner: RepositoryReport, side: str) -> int:
        figures = figures_owner.before if side == "before" else figures_owner.after
        return figures.images if metric == "images" else figures.findings_total

    largest = max([value(r, "before") for r in rows] + [1])
    bar_space = width - label_width - 70
    parts = [f'<text x="{x}" y="16" class="panel-title" font-weight="600">{escape(title)}</text>']
    for index, repo in enumerate(rows):
        top = 28 + index * row_height
        parts.append(
            f'<text x="{x + label_width - 6}" y="{top + row_height / 2 + 2:.0f}" text-anchor="end" '
            f'font-size="11">{escape(repo.label)}</text>'
        )
        for offset, side, colour in ((0, "before", BEFORE_COLOUR), (1, "after", AFTER_COLOUR)):
            number = value(repo, side)
            length = max(1.0, bar_space * number / largest) if number else 0.0
            y = top + 3 + offset * (row_height / 2 - 3)
            height = row_height / 2 - 4
            parts.append(
                f'<rect class="bar {side}" x="{x + label_width}" y="{y:.1f}" width="{length:.1f}" '
                f'height="{height:.1f}" fill="{colour}"><title>{escape(repo.label)} {side}: '
                f"{number:,} {metric}</title></rect>"
            )
            parts.append(
                f'<text x="{x + label_width + length + 4:.1f}" y="{y + height - 1:.1f}" font-size="10">'
                f"{number:,}</text>"
            )
    return parts


def render_chart(report: Report) -> str:
    """Inline SVG: images and findings per repository, before (grey) and after (green)."""
    rows = sorted(report.repositories, key=lambda r: r.before.images, reverse=True)[:CHART_REPOSITORIES]
    row_height = 30
    panel_width = 460
    label_width = 150
    height = 36 + max(len(rows), 1) * row_height
    parts = [
        f'<svg id="impact-chart" xmlns="http://www.w3.org/2000/svg" width="{2 * panel_width + 20}" '
        f'height="{height}" role="img" aria-label="Images and findings per repository, before and after" '
        f'font-family="Helvetica, Arial, sans-serif">'
    ]
    parts += _bar_panel(rows, "Images", "images", 0, panel_width, label_width, row_height)
    parts += _bar_panel(rows, "Inspector findings", "findings", panel_width + 20, panel_width, label_width, row_height)
    parts.append("</svg>")
    return "\n".join(parts)


def render_savings_table(report: Report) -> str:
    header = (
        "<tr><th>Repository</th><th>Images before</th><th>Images after</th><th>Storage before</th>"
        "<th>Storage after</th><th>Findings before</th><th>Findings after</th><th>Findings removed</th>"
        "<th>Saving / month</th></tr>"
    )
    rows = []
    for repo in report.largest_savings(SAVINGS_ROWS):
        findings_before = f"{repo.before.findings_total:,}" if repo.findings_known else "unknown"
        findings_after = f"{repo.after.findings_total:,}" if repo.findings_known else "unknown"
        rows.append(
            f"<tr><td>{escape(repo.label)}</td><td>{repo.before.images:,}</td><td>{repo.after.images:,}</td>"
            f"<td>{_gb(repo.before.bytes)}</td><td>{_gb(repo.after.bytes)}</td><td>{findings_before}</td>"
            f"<td>{findings_after}</td>"
            f"<td>{_percent(repo.before.findings_total, repo.after.findings_total)}</td>"
            f"<td>{_usd(repo.monthly_saving_usd)}</td></tr>"
        )
    return f'<table id="largest-savings">\n<thead>{header}</thead>\n<tbody>\n' + "\n".join(rows) + "\n</tbody></table>"


def render_html(report: Report, title: str = "ECR Housekeeper: impact report", subtitle: str = "") -> str:
    """The whole page as one string; write it anywhere and open it offline."""
    before, after = report.before, report.after
    when = datetime.fromtimestamp(report.generated_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    cards = [
        ("Images", f"{before.images:,} → {after.images:,}"),
        ("Storage", f"{_gb(before.bytes)} → {_gb(after.bytes)}"),
        (
            "Inspector findings",
            f"{report.findings_label(before.findings_total)} → {report.findings_label(after.findings_total)}",
        ),
        (
            "Findings removed",
            "unknown" if report.findings_coverage == "none" else _percent(before.findings_total, after.findings_total),
        ),
        ("Est. saving / month", _usd(report.monthly_saving_usd)),
    ]
    card_html = "\n".join(
        f'<div class="card"><div class="label">{escape(label)}</div><div class="value">{escape(value)}</div></div>'
        for label, value in cards
    )
    meta = f"{len(report.repositories)} repositories · generated {when}"
    if subtitle:
        meta = f"{escape(subtitle)} · {meta}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p class="meta">{meta}</p>
<div class="cards">
{card_html}
</div>
<h2>Before and after, per repository</h2>
<p class="legend"><span style="background:{BEFORE_COLOUR}"></span>now<span style="background:{AFTER_COLOUR}"></span>
after the lifecycle policy runs</p>
{render_chart(report)}
<h2>Largest savings</h2>
{render_savings_table(report)}
<p class="note">"After" is what the exact offline evaluator says the desired lifecycle policy expires; ECR runs
the policy itself within about a day. Findings of expired images count as removed; Amazon Inspector closes them on
its own some time after the image is deleted, so its console lags behind this page. Storage cost uses
${report.prices.standard_per_gb_month:.2f} per GB-month (ECR standard) and
${report.prices.archive_per_gb_month:.2f} per GB-month (ECR archive, first 150 TB); sizes are the compressed
sizes ECR reports, and layers shared between images are billed once, so real savings can be lower.</p>
</body>
</html>
"""
