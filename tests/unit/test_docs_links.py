"""Every relative link in README.md and docs/*.md resolves, and README stays a short front door.

A link is `[text](target)` (images too) or `<a href="target">`, outside code blocks and code spans. For a relative
target the file must exist, relative to the linking file; for `page.md#anchor` and `#anchor` a heading of the
target page must produce that anchor, with GitHub's slugs: lowercase, punctuation other than `-` and `_` removed,
each space turned into `-`, and `-1`, `-2`, ... added to repeated headings. Pure: reads files, nothing else.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]

README_MAX_LINES = 250
FRONT_DOOR_LINES = 20

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)((?:(?!\n\n).)+?)\1", re.DOTALL)  # within one paragraph
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+[\"'(][^)]*)?\s*\)"
)
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
HREF = re.compile(r"<a\s[^>]*?\bhref\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE)
HTML_ANCHOR = re.compile(r"<a\s[^>]*?\b(?:name|id)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks (fence lines themselves dropped)."""
    lines: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * len(match.group(1))
            continue
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                fence = None
            continue
        lines.append(line)
    return lines


def without_code_spans(text: str) -> str:
    """Code spans replaced by their text with the characters that could form a link taken out."""
    return CODE_SPAN.sub(lambda m: re.sub(r"[\[\]()<>]", "", m.group(2)), text)


def links(text: str) -> list[str]:
    """Every link target of a Markdown page, in order."""
    prose = without_code_spans("\n".join(prose_lines(text)))
    targets = [m.group(1) for m in INLINE_LINK.finditer(prose)]
    targets += [m.group(1) for m in REFERENCE_DEFINITION.finditer(prose)]
    targets += [m.group(1) for m in HREF.finditer(prose)]
    return [t[1:-1] if t.startswith("<") and t.endswith(">") else t for t in targets]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading anchors by its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors a page defines: one per heading (repeats numbered as GitHub does) and explicit HTML anchors."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    found.update(m.group(1) for m in HTML_ANCHOR.finditer("\n".join(prose_lines(text))))
    return found


def broken_links(page: Path) -> list[str]:
    """Each relative link of `page` that does not resolve, with the reason."""
    problems: list[str] = []
    for target in links(page.read_text(encoding="utf-8")):
        if not target or SCHEME.match(target):
            continue  # http(s), mailto and other absolute URLs are not checked (no network)
        path_part, _, fragment = target.partition("#")
        destination = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not destination.exists():
            problems.append(f"{target}: {os.path.relpath(destination, ROOT)} does not exist")
            continue
        if (
            fragment
            and destination.suffix == ".md"
            and unquote(fragment).lower() not in anchors(destination.read_text(encoding="utf-8"))
        ):
            problems.append(f"{target}: no heading in {destination.name} gives the anchor #{fragment}")
    return problems


def test_the_pages_exist() -> None:
    names = {page.name for page in DOCS}
    expected = {
        "README.md",
        "configuration.md",
        "cli.md",
        "tagging.md",
        "policy-sync.md",
        "safety.md",
        "operations.md",
        "demo.md",
        "PERFORMANCE.md",
        "INTERNALS.md",
    }
    assert expected <= names, f"missing docs pages: {sorted(expected - names)}"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_every_docs_page_is_linked_from_the_readme_and_the_index() -> None:
    readme_targets = {unquote(t.partition("#")[0]) for t in links(README.read_text(encoding="utf-8"))}
    index_targets = {unquote(t.partition("#")[0]) for t in links((ROOT / "docs" / "README.md").read_text("utf-8"))}
    for page in DOCS:
        if page.name == "README.md":
            continue
        assert f"docs/{page.name}" in readme_targets, f"README.md does not link docs/{page.name}"
        assert page.name in index_targets, f"docs/README.md does not list {page.name}"


def test_readme_is_a_short_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; the limit is {README_MAX_LINES}"
    head = "\n".join(lines[:FRONT_DOOR_LINES])
    assert "make demo" in head
    assert "make test" in head


def test_slugs_follow_github() -> None:
    assert slug("Tagging: `<env>-<build>` on the digest ECS deployed") == "tagging-env-build-on-the-digest-ecs-deployed"
    assert slug("`housekeeper plan` and `housekeeper apply`") == "housekeeper-plan-and-housekeeper-apply"
    assert slug("Policy checks (any policy, hand-written too)") == "policy-checks-any-policy-hand-written-too"
    assert slug("Settings (cdk.json context)") == "settings-cdkjson-context"
    assert slug("safety_model and [the guard](safety.md)") == "safety_model-and-the-guard"


def test_the_checker_finds_links_and_skips_code() -> None:
    text = (
        "# Title\n\n## Title\n\nSee [a](a.md#x) and ![b](img/b.png \"title\") and <a href='c.md'>c</a>.\n"
        "A `[not](a link)` here.\n\n```\n[not](a/link.md)\n# not a heading\n```\n\n[ref]: d.md#y\n"
    )
    assert links(text) == ["a.md#x", "img/b.png", "d.md#y", "c.md"]
    assert anchors(text) == {"title", "title-1"}
