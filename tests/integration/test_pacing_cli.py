"""`mdp pacing` reads marts.pacing_monthly of each channel's latest as_of from the configured warehouse
(read-only): a table per grain, channels first; `--json` with exact decimals; `--month`; exit 1 when anything
is off pace, 0 when nothing is, 2 with one line when the forecast step has never written the mart."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from mdp import cli
from mdp.cli import app
from tests.pacing_marts import PACING_DDL, insert, pacing_row

AS_OF = dt.date(2025, 3, 18)
FEBRUARY = dt.date(2025, 2, 28)


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text("warehouse: {type: duckdb, path: wh.duckdb}\nconnectors: []\n")
    return path


def march_rows() -> list[dict[str, Any]]:
    return [
        pacing_row(AS_OF, "google_ads", projected="1050"),
        pacing_row(AS_OF, "meta_ads", projected="1300.125", verdict="over", off_pace=True),
        pacing_row(AS_OF, "google_ads", "123", metric="conversions", target="80", projected="81.25", spread="4"),
        pacing_row(
            AS_OF,
            "google_ads",
            "123",
            "456",
            campaign_name="Spring sale",
            basis="daily_budget",
            projected="700",
            verdict="under",
            off_pace=True,
        ),
        # an earlier run of the same month: replaced by the latest as_of, never shown
        pacing_row(AS_OF - dt.timedelta(days=1), "meta_ads", projected="5000", verdict="over", off_pace=True),
    ]


def warehouse(tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute(PACING_DDL)
        insert(con, "marts.pacing_monthly", rows)


def pacing(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["pacing", "--config", str(config), *args])


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.console, "width", 200)


def test_tables_per_grain_and_exit_1_when_something_is_off_pace(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    warehouse(tmp_path, march_rows())

    result = pacing(config)

    assert result.exit_code == 1, result.output
    out = result.output
    assert out.index("channel pacing, 2025-03 (as of 2025-03-18; money in EUR)") < out.index("account pacing")
    assert out.index("account pacing") < out.index("campaign pacing")
    assert 'google_ads 123/456 "Spring sale"' in out
    assert "1,300.13 (1,200.13 .. 1,400.13)" in out  # projected month end with its 80% interval
    assert "130%" in out
    assert "over" in out
    assert "budget" in out
    assert "81.3 (77.3 .. 85.3)" in out  # conversions with one decimal
    assert "5,000" not in out  # the earlier as_of is not read
    assert "off pace: 2 of 4 row(s)" in out


def test_json_rows_with_exact_decimals(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    warehouse(tmp_path, march_rows())

    result = pacing(config, "--json")

    assert result.exit_code == 1
    rows = json.loads(result.output)
    assert [(r["grain"], r["grain_key"], r["metric"]) for r in rows] == [
        ("channel", "google_ads", "spend"),
        ("channel", "meta_ads", "spend"),
        ("account", "google_ads/123", "conversions"),
        ("campaign", "google_ads/123/456", "spend"),
    ]
    meta = rows[1]
    assert meta["projected"] == "1300.125000"
    assert meta["projected_lo80"] == "1200.125000"
    assert meta["as_of"] == "2025-03-18"
    assert meta["month"] == "2025-03-01"
    assert meta["pacing_ratio"] == pytest.approx(1.300125)
    assert meta["off_pace"] is True
    assert rows[2]["currency"] is None  # conversions are not money
    assert Decimal(rows[0]["target"]) == Decimal(1000)


def test_exit_0_when_nothing_is_off_pace_and_month_selects_a_month(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    warehouse(tmp_path, [*march_rows(), pacing_row(FEBRUARY, "meta_ads", projected="990")])

    result = pacing(config, "--month", "2025-02")

    assert result.exit_code == 0, result.output
    assert "channel pacing, 2025-02 (as of 2025-02-28; money in EUR)" in result.output
    assert "on pace: 1 row(s), none off pace" in result.output
    empty = pacing(config, "--month", "2024-12", "--json")
    assert (empty.exit_code, json.loads(empty.output)) == (0, [])


def test_without_the_mart_one_line_and_exit_2(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute("create schema marts")

    result = pacing(config)

    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: marts.pacing_monthly does not exist: run `mdp run` with forecast enabled first (pipeline.yaml "
        "`forecast: {enabled: true}`)"
    ]


def test_a_month_not_written_yyyy_mm_is_refused(tmp_path: Path) -> None:
    result = pacing(write_config(tmp_path), "--month", "2025-13")

    assert result.exit_code == 2
    assert "--month: expected a month YYYY-MM, got '2025-13'" in result.output
