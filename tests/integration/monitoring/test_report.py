"""`write_report` opened in real headless chromium at 1400 and 800 px: it renders without console errors or
network requests, its charts carry the marts' series (any channel, not only two), the totals per channel are
the marts' sums, immature days are marked from each connector's lookback, no chart is empty and no label is
clipped, every check has a heatmap cell and every non-ok check a row; without marts it says so."""

from __future__ import annotations

import datetime as dt
import os
import shutil
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
LAST_DAY = FIRST_DAY + dt.timedelta(days=DAYS - 1)
CAMPAIGNS = 6
# A third channel (any name, palette colour) whose data stop two days before the others.
MICROSOFT_DAYS = DAYS - 2
LONG_NAME = "Performance Max | EUR - Spring Sale - Prospecting - Lookalike 1% - All Countries - Always On"

# Fake marts with the columns the report reads (tests/unit/monitoring checks them against the marts' YAML):
# google_ads spends 100 + 2i a day, meta_ads 150 + 2i, microsoft_ads 50 + 2i; campaign k of each channel
# gets (k + 1) / 21 of it (campaign 0, the best ROAS, has a long name).
MARTS_SQL = f"""
create schema if not exists marts;
create table marts.mart_channel_performance_daily as
select date '{FIRST_DAY}' + i::int as date_day, channel, 'EUR' as reporting_currency,
       base + 2.0 * i as spend_reporting, 3 * (base + 2.0 * i) - 10 * i as conversion_value_reporting,
       (4 * base + i)::bigint as clicks, (80 * base + 7 * i)::bigint as impressions,
       base / 10 + i % 3 as conversions
from range({DAYS}) as t(i), (values ('google_ads', 100.0), ('meta_ads', 150.0), ('microsoft_ads', 50.0)) as c(channel, base)
where channel <> 'microsoft_ads' or i < {MICROSOFT_DAYS};
create table marts.mart_campaign_performance_daily as
select date_day, channel, channel || '-acct' as account_id, 'Account ' || channel as account_name,
       channel || '-c' || k as campaign_id, case when k = 0 then '{LONG_NAME}' else 'Campaign ' || k end as campaign_name,
       spend_reporting * (k + 1) / 21 as spend_reporting,
       conversion_value_reporting * ({CAMPAIGNS} - k) / 21 as conversion_value_reporting
from marts.mart_channel_performance_daily, range({CAMPAIGNS}) as t(k);
"""
# google_ads: its type's default lookback (14 days); meta_ads and microsoft_ads: configured.
CONNECTORS = [
    {"name": "google_ads", "type": "google_ads"},
    {"name": "meta_ads", "type": "meta_ads", "lookback_days": 10},
    {"name": "microsoft_ads", "type": "microsoft_ads", "lookback_days": 7},
]
IMMATURE_FROM = {
    "google_ads": str(LAST_DAY - dt.timedelta(days=13)),
    "meta_ads": str(LAST_DAY - dt.timedelta(days=9)),
    "microsoft_ads": str(LAST_DAY - dt.timedelta(days=2 + 6)),
}
ANOMALY = Check("meta_ads", "777", dt.date(2025, 3, 12), "rows", 1, 17, -23.1, "anomaly", "below baseline", 8)
WARN = Check("google_ads", "555", dt.date(2025, 3, 9), "spend", 300.4, 425.6, -3.6, "warn", "below baseline", 8)
# Labels a reader cannot read in full: SVG text outside its SVG or overlapping a neighbouring day tick, an
# SVG wider than its figure, an ellipsis without the full text on hover, HTML text overflowing its box
# (unless it ends in an ellipsis with a title), and boxes or the page scrolling sideways.
CLIPPED = """(() => {
  const out = [];
  const name = n => (n.closest('[data-chart], [data-breakdown], table, .kpi, section') || n).getAttribute('data-chart')
    || n.id || n.tagName;
  document.querySelectorAll('figure svg').forEach(svg => {
    const [, , w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
    const fig = svg.closest('figure').getBoundingClientRect(), box = svg.getBoundingClientRect();
    if (box.right > fig.right + 0.5 || box.left < fig.left - 0.5) out.push(['svg wider than figure', name(svg)]);
    let ticks = [];
    svg.querySelectorAll('text').forEach(t => {
      const b = t.getBBox();
      if (b.width === 0) out.push(['empty label', name(svg)]);
      if (b.x < -0.5 || b.y < -0.5 || b.x + b.width > w + 0.5 || b.y + b.height > h + 0.5)
        out.push(['outside its svg', name(svg), t.textContent]);
      const text = t.firstChild ? t.firstChild.nodeValue : '';
      if (text.endsWith('…') && !(t.querySelector('title') || {}).textContent)
        out.push(['ellipsis without title', name(svg), text]);
      if (t.classList.contains('day')) ticks.push(b);
    });
    ticks.sort((a, b) => a.x - b.x).forEach((b, i) => {
      if (i && ticks[i - 1].x + ticks[i - 1].width > b.x) out.push(['day ticks overlap', name(svg)]);
    });
  });
  document.querySelectorAll('th, td, figcaption, h1, h2, h3, p, .kpi .value, .legend li').forEach(e => {
    if (e.scrollWidth > e.clientWidth + 1 && !(e.title && getComputedStyle(e).textOverflow === 'ellipsis'))
      out.push(['html overflow', name(e), e.textContent.slice(0, 60)]);
  });
  document.querySelectorAll('.table-box, .breakdown, .scroll-box, figure.chart').forEach(e => {
    if (e.scrollWidth > e.clientWidth + 1) out.push(['scrolls sideways', name(e), e.className]);
  });
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) out.push(['page scrolls sideways', root.scrollWidth]);
  return out;
})()"""
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
        .map(tr => [tr.className, getComputedStyle(tr).backgroundColor, tr.dataset.account])""",
    "kpis": """Object.fromEntries(Array.from(document.querySelectorAll('[data-kpi]'))
        .map(k => [k.dataset.kpi, k.querySelector('.value').textContent]))""",
    "notice": "(n => n && n.offsetHeight > 0 ? n.textContent : null)(document.getElementById('marts-missing'))",
    "totals": """Array.from(document.querySelectorAll('#channel-totals tbody tr'))
        .map(tr => [tr.dataset.channel, ...Array.from(tr.cells).slice(1).map(td => td.textContent)])""",
    "immature": """Object.fromEntries(['spend', 'revenue', 'roas'].map(name => [name, Object.fromEntries(
        Array.from(document.querySelectorAll(`figure[data-chart="${name}"] rect.immature`))
             .map(r => [r.dataset.series, r.dataset.from]))]))""",
    "immature_note": "(n => n ? n.textContent : null)(document.getElementById('immature-note'))",
    "heatmap_cells": "document.querySelectorAll('figure[data-chart=\"checks\"] rect[data-status]').length",
    "flagged_title": "document.getElementById('flagged-title').textContent",
    "roas_labels": """Array.from(document.querySelectorAll('figure[data-chart="top-roas"] text.bar-label'))
        .map(t => [t.firstChild.nodeValue, t.querySelector('title').textContent])""",
    "empty_charts": """Array.from(document.querySelectorAll('figure.chart')).filter(f =>
        !f.querySelector('path.series[data-points]:not([data-points="0"]), rect.bar, rect[data-status]'))
        .map(f => f.dataset.chart)""",
    "clipped": CLIPPED,
}


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    binary = chromium_binary()
    if binary is None:
        pytest.fail(f"chromium is not installed: {INSTALL_HINT}")
    browser = Chromium(binary, tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.close()


def config_for(path: Path, connectors: list[dict[str, Any]] | None = None) -> PipelineConfig:
    return config_from_mapping({"warehouse": {"type": "duckdb", "path": str(path)}, "connectors": connectors or []})


# 320 checks of an account without history: more than any cap the table once had (300).
NO_HISTORY = [
    Check(
        "microsoft_ads",
        "888",
        dt.date(2025, 3, 12) - dt.timedelta(days=d),
        metric,
        5,
        None,
        None,
        "insufficient_history",
        "0 of 4 history points",
        0,
    )
    for d in range(160)
    for metric in ("rows", "spend")
]


def checks() -> list[Check]:
    days = [dt.date(2025, 3, 6) + dt.timedelta(days=i) for i in range(7)]
    ok = [
        Check(connector, account, day, metric, 10, 10, 0.0, "ok", "", 8)
        for connector, account in (("google_ads", "555"), ("meta_ads", "777"))
        for day in days
        for metric in ("rows", "spend")
    ]
    flagged = {(ANOMALY.account_id, ANOMALY.day, ANOMALY.metric), (WARN.account_id, WARN.day, WARN.metric)}
    return [c for c in ok if (c.account_id, c.day, c.metric) not in flagged] + [ANOMALY, WARN, *NO_HISTORY]


def visit(chromium: Chromium, report: Path, width: int | None = None, screenshot: Path | None = None) -> PageVisit:
    result = chromium.visit(report.as_uri(), EXPRESSIONS, width=width, screenshot=screenshot)
    assert result.errors == []
    assert result.requests == [report.as_uri()]  # self-contained: nothing else is fetched
    assert result.values["rendered"] == "true"
    return result


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DuckDBWarehouse]:
    directory = tmp_path_factory.mktemp("report")
    warehouse = DuckDBWarehouse(directory / "wh.duckdb")
    with warehouse.connect() as con:
        con.execute(MARTS_SQL)
    write_checks(warehouse, checks(), "run-7")
    return write_report(config_for(warehouse.path, CONNECTORS), directory / "out" / "report.html"), warehouse


def expected_totals(warehouse: DuckDBWarehouse) -> list[list[str]]:
    """The totals table as the marts' sums give it: ratios of sums, never averages of daily ratios."""
    rows = warehouse.query(
        "select coalesce(channel, 'all channels'), sum(spend_reporting)::double, "
        "sum(conversion_value_reporting)::double, sum(clicks)::double, sum(impressions)::double, "
        "sum(conversions)::double from marts.mart_channel_performance_daily "
        "group by rollup(channel) order by channel is null, channel"
    )
    return [
        [
            channel,
            f"{spend:,.2f}",
            f"{revenue:,.2f}",
            f"{revenue / spend:,.2f}",
            f"{clicks:,.0f}",
            f"{impressions:,.0f}",
            f"{conversions:,.1f}",
            f"{spend / clicks:,.2f}",
            f"{spend / conversions:,.2f}",
        ]
        for channel, spend, revenue, clicks, impressions, conversions in rows
    ]


@pytest.mark.parametrize("width", [1400, 800])
def test_the_report_renders_the_marts_and_the_checks(
    chromium: Chromium, report: tuple[Path, DuckDBWarehouse], width: int, tmp_path: Path
) -> None:
    page, warehouse = report
    screenshot = tmp_path / f"report-{width}.png"
    values: dict[str, Any] = visit(chromium, page, width, screenshot).values
    if os.environ.get("MDP_REPORT_SCREENSHOTS"):  # a directory to keep them in, to look at
        shutil.copy(screenshot, Path(os.environ["MDP_REPORT_SCREENSHOTS"]) / screenshot.name)
    assert screenshot.stat().st_size > 10_000

    assert values["clipped"] == []
    assert values["empty_charts"] == []
    channels = [["google_ads", DAYS], ["meta_ads", DAYS], ["microsoft_ads", MICROSOFT_DAYS]]
    assert values["series"] == {
        "spend": channels,
        "revenue": channels,
        "roas": [*channels, ["all channels", DAYS]],
    }
    assert values["totals"] == expected_totals(warehouse)
    assert values["immature"] == {
        "spend": IMMATURE_FROM,
        "revenue": IMMATURE_FROM,
        "roas": IMMATURE_FROM | {"all channels": min(IMMATURE_FROM.values())},
    }
    assert "Immature days are the days within a connector's conversion lookback" in values["immature_note"]
    # Campaign k gets (k + 1) / 21 of its channel's spend (meta 5,370, google 3,870 over the period).
    assert values["bars"]["top-spend"][:3] == [
        "Campaign 5 (Account meta_ads)",
        "Campaign 4 (Account meta_ads)",
        "Campaign 5 (Account google_ads)",
    ]
    assert len(values["bars"]["top-spend"]) == 10
    assert values["bars"]["top-roas"][:2] == [
        f"{LONG_NAME} (Account meta_ads)",
        f"{LONG_NAME} (Account google_ads)",
    ]
    shown, full = values["roas_labels"][0]
    assert full == f"{LONG_NAME} (Account meta_ads)"
    # The name is shortened to the label area, the account kept, the full label shown on hover.
    name, account = shown.split("… ")
    assert full.startswith(name)
    assert len(name) > len("Performance Max")
    assert account == "(Account meta_ads)"
    assert values["heatmap_cells"] == len(checks())
    assert sorted(c for c in values["cells"] if c[0] != "insufficient_history") == [
        ["anomaly", "777", "2025-03-12"],
        ["warn", "555", "2025-03-09"],
    ]
    assert [(cls, account) for cls, _, account in values["rows"][:2]] == [
        ("status-anomaly", "777"),
        ("status-warn", "555"),
    ]
    assert len(values["rows"]) == 2 + len(NO_HISTORY)  # every non-ok check, no cap
    assert values["flagged_title"].startswith(f"{2 + len(NO_HISTORY)} of {len(checks())} checks are not ok")
    assert values["rows"][0][1] != values["rows"][1][1]  # the anomaly is highlighted in its own colour
    assert values["kpis"]["Volume anomalies"] == "1"
    assert values["kpis"]["ROAS"] == values["totals"][-1][3]
    assert values["notice"] is None


def test_without_marts_the_report_says_so(chromium: Chromium, tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "wh.duckdb")
    write_checks(warehouse, checks(), "run-8")

    report = write_report(config_for(warehouse.path), tmp_path / "report.html")
    values: dict[str, Any] = visit(chromium, report).values

    assert values["notice"] is not None
    assert values["notice"].startswith("Marts not built yet.")
    assert values["series"] == {"spend": [], "revenue": [], "roas": []}
    assert values["heatmap_cells"] == len(checks())
    assert values["kpis"] == {"Volume anomalies": "1"}
    assert values["clipped"] == []
