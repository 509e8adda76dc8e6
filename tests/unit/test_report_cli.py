"""`housekeeper report` as an operator runs it: table, JSON and the HTML file, on in-memory gateways."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from housekeeper.aws.ports import FindingCounts
from housekeeper.cli.main import main
from housekeeper.core.images import ImageRecord

from tests.fakes import FakeInspector

NOW = 1_700_000_000
DAY = 86_400
GB = 1024**3


def _image(number: int, age_days: int) -> ImageRecord:
    return ImageRecord(f"sha256:{number:064x}", (str(number),), NOW - age_days * DAY, size_bytes=2 * GB)


IMAGES = {
    "shop/api": [_image(1, 400), _image(2, 300), _image(3, 5)],
    "shop/web": [_image(10, 1)],
}


FINDINGS = {
    repository: {image.digest: FindingCounts(image.digest, {"CRITICAL": 1, "HIGH": 4}) for image in images}
    for repository, images in IMAGES.items()
}


@pytest.fixture
def config_file(tmp_path: Path, offline_report: Any) -> Path:
    offline_report(IMAGES, FakeInspector(FINDINGS, denied={"shop/web"}))
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "environments": [{"name": "prod", "tagPrefix": "Prod", "keep": 5, "clusters": ["prod-*"]}],
                "catchAll": {"expireAfterDays": 90},
            }
        )
    )
    return path


def test_json_output_has_before_after_and_saving(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--config", str(config_file), "--now", "2023-11-14T22:13:20Z", "--output", "json"])

    assert code == 0
    data = json.loads(capsys.readouterr().out)
    api = next(r for r in data["repositories"] if r["repository"] == "shop/api")
    assert (api["before"]["images"], api["after"]["images"]) == (3, 1)
    assert (api["before"]["findings"]["total"], api["after"]["findings"]["total"]) == (15, 5)
    assert api["before"]["findings"]["CRITICAL"] == 3
    assert api["estimatedMonthlySavingUsd"] == pytest.approx(0.40)
    web = next(r for r in data["repositories"] if r["repository"] == "shop/web")
    assert web["findingsKnown"] is False


def test_table_shows_every_repository_and_unknown_findings(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "report.html"
    code = main(
        ["report", "--config", str(config_file), "--repository", "shop/*", "--html", str(html), "--now", str(NOW)]
    )

    assert code == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split()[:3] == ["repository", "images", "after"]
    api_row = next(line for line in lines if line.startswith("shop/api"))
    assert api_row.split()[1:3] == ["3", "1"]
    assert "unknown" in next(line for line in lines if line.startswith("shop/web"))
    # shop/web's findings are unknown, so the total is a partial sum.
    assert "15+" in next(line for line in lines if line.startswith("TOTAL")).split()
    assert "AccessDeniedException" in captured.err
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert f"HTML report: {html}" in captured.out


def test_help_explains_inspectors_closing_delay(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "closes the findings of each deleted image" in text
    assert "$0.10 per GB-month" in text
