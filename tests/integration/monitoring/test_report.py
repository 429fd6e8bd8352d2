"""`write_report` opened in real headless chromium: it renders without console errors or network requests,
its charts carry the marts' series, and the last run's anomalies are highlighted; without marts it says so."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.monitor import write_checks
from flows.report import write_report
from flows.volume import Check
from mdp.config import PipelineConfig, config_from_mapping
from tests.integration.monitoring.browser import INSTALL_HINT, Chromium, PageVisit, chromium_binary
from warehouse.duckdb import DuckDBWarehouse

pytestmark = [
    pytest.mark.slow,
    # Prefect API clients of earlier tests leave loopback sockets to the garbage collector.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

FIRST_DAY = dt.date(2025, 2, 17)
DAYS = 30
CAMPAIGNS = 6

# Fake marts with the columns the report reads (tests/unit/monitoring checks them against the marts' YAML):
# google_ads spends 100 + 2i a day, meta_ads 150 + 2i; campaign k of each channel gets (k + 1) / 21 of it.
MARTS_SQL = f"""
create schema if not exists marts;
create table marts.mart_channel_performance_daily as
select date '{FIRST_DAY}' + i::int as date_day, channel, 'EUR' as reporting_currency,
       base + 2.0 * i as spend_reporting, 3 * (base + 2.0 * i) - 10 * i as conversion_value_reporting
from range({DAYS}) as t(i), (values ('google_ads', 100.0), ('meta_ads', 150.0)) as c(channel, base);
create table marts.mart_campaign_performance_daily as
select date_day, channel, channel || '-acct' as account_id, 'Account ' || channel as account_name,
       channel || '-c' || k as campaign_id, 'Campaign ' || k as campaign_name,
       spend_reporting * (k + 1) / 21 as spend_reporting,
       conversion_value_reporting * ({CAMPAIGNS} - k) / 21 as conversion_value_reporting
from marts.mart_channel_performance_daily, range({CAMPAIGNS}) as t(k);
"""
ANOMALY = Check("meta_ads", "777", dt.date(2025, 3, 12), "rows", 1, 17, -23.1, "anomaly", "below baseline", 8)
WARN = Check("google_ads", "555", dt.date(2025, 3, 9), "spend", 300.4, 425.6, -3.6, "warn", "below baseline", 8)
EXPRESSIONS = {
    "rendered": "document.body.dataset.rendered",
    "series": """Object.fromEntries(['spend', 'revenue', 'roas'].map(name => [name,
        Array.from(document.querySelectorAll(`figure[data-chart="${name}"] path.series`))
             .map(p => [p.dataset.series, Number(p.dataset.points)])]))""",
    "bars": """Object.fromEntries(['top-spend', 'top-roas'].map(name => [name,
        Array.from(document.querySelectorAll(`figure[data-chart="${name}"] rect.bar`)).map(r => r.dataset.label)]))""",
    "cells": """Array.from(document.querySelectorAll('figure[data-chart="checks"] rect[data-status]'))
        .filter(r => r.dataset.status !== 'ok').map(r => [r.dataset.status, r.dataset.account, r.dataset.day])""",
    "rows": """Array.from(document.querySelectorAll('#flagged-checks tbody tr'))
        .map(tr => [tr.className, getComputedStyle(tr).backgroundColor, tr.cells[2].textContent])""",
    "kpis": """Object.fromEntries(Array.from(document.querySelectorAll('[data-kpi]'))
        .map(k => [k.dataset.kpi, k.querySelector('.value').textContent]))""",
    "notice": "(n => n && n.offsetHeight > 0 ? n.textContent : null)(document.getElementById('marts-missing'))",
}


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    binary = chromium_binary()
    if binary is None:
        pytest.fail(f"chromium is not installed: {INSTALL_HINT}")
    browser = Chromium(binary, tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.close()


def config_for(path: Path) -> PipelineConfig:
    return config_from_mapping({"warehouse": {"type": "duckdb", "path": str(path)}})


def checks() -> list[Check]:
    days = [dt.date(2025, 3, 6) + dt.timedelta(days=i) for i in range(7)]
    ok = [
        Check(connector, account, day, "rows", 10, 10, 0.0, "ok", "", 8)
        for connector, account in (("google_ads", "555"), ("meta_ads", "777"))
        for day in days
    ]
    return [c for c in ok if (c.account_id, c.day) not in {("777", ANOMALY.day), ("555", WARN.day)}] + [
        ANOMALY,
        WARN,
    ]


def visit(chromium: Chromium, report: Path) -> PageVisit:
    result = chromium.visit(report.as_uri(), EXPRESSIONS)
    assert result.errors == []
    assert result.requests == [report.as_uri()]  # self-contained: nothing else is fetched
    assert result.values["rendered"] == "true"
    return result


def test_the_report_renders_the_marts_and_the_checks(chromium: Chromium, tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "wh.duckdb")
    with warehouse.connect() as con:
        con.execute(MARTS_SQL)
    write_checks(warehouse, checks(), "run-7")

    report = write_report(config_for(warehouse.path), tmp_path / "out" / "report.html")
    values: dict[str, Any] = visit(chromium, report).values

    assert values["series"] == {
        "spend": [["google_ads", DAYS], ["meta_ads", DAYS]],
        "revenue": [["google_ads", DAYS], ["meta_ads", DAYS]],
        "roas": [["google_ads", DAYS], ["meta_ads", DAYS], ["all channels", DAYS]],
    }
    # Campaign k gets (k + 1) / 21 of its channel's spend (meta 5,370, google 3,870 over the period).
    assert values["bars"]["top-spend"][:3] == [
        "Campaign 5 (Account meta_ads)",
        "Campaign 4 (Account meta_ads)",
        "Campaign 5 (Account google_ads)",
    ]
    assert len(values["bars"]["top-spend"]) == 10
    assert values["bars"]["top-roas"][:2] == [
        "Campaign 0 (Account meta_ads)",
        "Campaign 0 (Account google_ads)",
    ]
    assert sorted(values["cells"]) == [
        ["anomaly", "777", "2025-03-12"],
        ["warn", "555", "2025-03-09"],
    ]
    assert [(cls, account) for cls, _, account in values["rows"]] == [
        ("status-anomaly", "777"),
        ("status-warn", "555"),
    ]
    assert values["rows"][0][1] != values["rows"][1][1]  # the anomaly is highlighted in its own colour
    assert values["kpis"]["Volume anomalies"] == "1"
    assert values["kpis"]["ROAS"] != "-"
    assert values["notice"] is None


def test_without_marts_the_report_says_so(chromium: Chromium, tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "wh.duckdb")
    write_checks(warehouse, checks(), "run-8")

    report = write_report(config_for(warehouse.path), tmp_path / "report.html")
    values: dict[str, Any] = visit(chromium, report).values

    assert values["notice"] is not None
    assert values["notice"].startswith("Marts not built yet.")
    assert values["series"] == {"spend": [], "revenue": [], "roas": []}
    assert len(values["cells"]) == 2
    assert values["kpis"] == {"Volume anomalies": "1"}
