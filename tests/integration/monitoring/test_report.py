"""`write_report` opened in real headless chromium (Playwright, tests/browser.py) at 1400 and 800 px: it
renders without console errors or network requests, its charts carry the marts' series (any channel, not only
two), the totals per channel are the marts' sums, immature days are marked from each connector's lookback, no
chart is empty and no label is clipped, every check has a heatmap cell and every non-ok check a row, the
reconciliation section counts the account-days of marts.reconciliation_daily and lists every mismatch with both
values, the pacing section draws a fan per channel from the latest forecast and lists the campaigns off pace
worst first; without marts, without the reconciliation, or without the forecast step's marts, it says so."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from flows import report_queries
from flows.monitor import write_checks
from flows.report import channel_label, write_report
from flows.volume import Check
from mdp.config import PipelineConfig, config_from_mapping
from mdp.paths import TRANSFORMATIONS_DIR
from tests.pacing_marts import FORECAST_DDL, PACING_DDL, insert, pacing_row
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
# A stand-in for dbt's marts.reconciliation_daily with the model's columns (checked against its YAML below) and
# its verdict rule (RECOMPUTE): two Google Ads accounts (EUR, JPY), one Meta and one Microsoft account; Meta's
# landed spend is 0.003 below the platform's every 7th day (within the 0.01 tolerance); Microsoft's first 5
# days have no platform totals (unchecked); a mismatch on a day before the report's 90-day window must not show.
RECONCILIATION_DAYS = [*range(DAYS), -61]
RECONCILIATION_SQL = f"""
create table marts.reconciliation_daily (
    date_day date, channel varchar, account_id varchar, account_currency varchar, metric varchar,
    platform_value decimal(38, 6), landed_value decimal(38, 6), difference decimal(38, 6),
    tolerance decimal(38, 6), verdict varchar
);
insert into marts.reconciliation_daily
    (date_day, channel, account_id, account_currency, metric, platform_value, landed_value, tolerance)
select date '{FIRST_DAY}' + d, channel, account_id, currency, metric,
       case
           when channel = 'microsoft_ads' and d between 0 and 4 then null
           when channel = 'meta_ads' and metric = 'spend' and d % 7 = 0 then landed + 0.003
           when d < 0 and channel = 'google_ads' and metric = 'spend' then landed + 999
           else landed
       end,
       landed, tolerance
from (
    select d, channel, account_id, currency, metric, tolerance,
           case when metric in ('impressions', 'clicks') then 50 + 7 * d else 20 + d + 0.125 end as landed
    from unnest({RECONCILIATION_DAYS}) as t(d),
         (values ('google_ads', 'google_ads-acct', 'EUR'), ('google_ads', '4455', 'JPY'),
                 ('meta_ads', 'meta_ads-acct', 'EUR'), ('microsoft_ads', 'microsoft_ads-acct', 'USD'))
             as a(channel, account_id, currency),
         (values ('spend', 0.01), ('conversion_value', 0.01), ('impressions', 0), ('clicks', 0),
                 ('conversions', 0.01)) as m(metric, tolerance)
);
"""
RECOMPUTE = """
update marts.reconciliation_daily set
    difference = landed_value - platform_value,
    verdict = case
        when platform_value is null then 'unchecked'
        when abs(landed_value - platform_value) <= tolerance then 'ok'
        else 'mismatch'
    end;
"""
WINDOW = (LAST_DAY - dt.timedelta(days=89), LAST_DAY)  # the report's 90 days
# The forecast step's marts: a 30-day channel forecast from each channel's last day (Google's and Meta's
# 2025-03-18, Microsoft's 2025-03-16 with too little history: NULL values), an older Google run and a campaign
# forecast that the fans must not draw; pacing with three campaigns off pace and an older run's row.
MICROSOFT_LAST = FIRST_DAY + dt.timedelta(days=MICROSOFT_DAYS - 1)
FORECAST_SQL = f"""
insert into marts.forecast_daily (as_of, date_day, horizon, grain, grain_key, channel, account_id, campaign_id,
    currency, spend, spend_lo80, spend_hi80, spend_lo95, spend_hi95, status, history_days, model, run_id, generated_at)
select as_of, as_of + h, h, grain, key, channel, account, campaign, 'EUR',
       mean, mean * 0.9, mean * 1.1, mean * 0.8, mean * 1.2, status, 30, 'auto_ets', 'run-30', timestamp '2025-03-19 06:00'
from (
    select g.*, t.h::int as h, case when status = 'forecast' then base + 60 + t.h end as mean
    from range(1, 31) as t(h), (values
        (date '{LAST_DAY}', 'channel', 'google_ads', 'google_ads', null, null, 100.0, 'forecast'),
        (date '{LAST_DAY}' - 1, 'channel', 'google_ads', 'google_ads', null, null, 900.0, 'forecast'),
        (date '{LAST_DAY}', 'campaign', 'google_ads/a/c', 'google_ads', 'a', 'c', 900.0, 'forecast'),
        (date '{LAST_DAY}', 'channel', 'meta_ads', 'meta_ads', null, null, 150.0, 'forecast'),
        (date '{MICROSOFT_LAST}', 'channel', 'microsoft_ads', 'microsoft_ads', null, null, 50.0, 'insufficient_history')
    ) as g(as_of, grain, key, channel, account, campaign, base, status)
);
"""
FORECAST_DAYS = {"google_ads": 13, "meta_ads": 13, "microsoft_ads": 0}  # 19-31 March
OFF_PACE = [
    pacing_row(
        LAST_DAY,
        "meta_ads",
        "meta_ads-acct",
        "meta_ads-c2",
        campaign_name="Campaign 2",
        target="400",
        projected="640",
        verdict="over",
        off_pace=True,
    ),
    pacing_row(
        LAST_DAY,
        "google_ads",
        "google_ads-acct",
        "google_ads-c0",
        campaign_name=LONG_NAME,
        basis="daily_budget",
        target="1000",
        projected="700.5",
        spread="50",
        verdict="under",
        off_pace=True,
    ),
    pacing_row(
        LAST_DAY,
        "google_ads",
        "google_ads-acct",
        "google_ads-c3",
        campaign_name="Campaign 3",
        metric="conversions",
        target="100",
        projected="80",
        spread="5",
        verdict="under",
        off_pace=True,
    ),
]
PACING_ROWS = [
    pacing_row(LAST_DAY, "google_ads", projected="1020"),
    pacing_row(LAST_DAY, "meta_ads", projected="1200", verdict="over", off_pace=True),  # a channel: not listed
    *OFF_PACE,
    pacing_row(
        LAST_DAY - dt.timedelta(days=1),
        "meta_ads",
        "meta_ads-acct",
        "meta_ads-c5",
        target="10",
        projected="90",
        verdict="over",
        off_pace=True,
    ),  # an older run
]
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
    "reconciliation_verdict": "document.getElementById('reconciliation-verdict').textContent",
    "reconciliation_channels": """Array.from(document.querySelectorAll('#reconciliation-channels tbody tr'))
        .map(tr => [tr.dataset.channel, ...Array.from(tr.cells).slice(1, 6).map(td => Number(td.textContent)),
                    Array.from(tr.querySelectorAll('.amount')).map(a => [a.dataset.currency, a.dataset.amount,
                                                                         a.textContent])])""",
    "reconciliation_title": """(t => t.hidden ? null : t.textContent)(
        document.getElementById('reconciliation-mismatches-title'))""",
    "reconciliation_table_shown": """(b => b.offsetHeight > 0)(
        document.getElementById('reconciliation-mismatches-box'))""",
    "reconciliation_rows": """Array.from(document.querySelectorAll('#reconciliation-mismatches tbody tr'))
        .map(tr => [tr.dataset.channel, tr.dataset.account, tr.dataset.day, tr.dataset.metric,
                    tr.dataset.platform, tr.dataset.landed, tr.dataset.difference,
                    Array.from(tr.cells).map(td => td.textContent)])""",
    "fans": """Array.from(document.querySelectorAll('figure[data-fan]')).map(f => [f.dataset.fan,
        Number((f.querySelector('path.series') || {dataset: {}}).dataset.points),
        Number((f.querySelector('path.forecast') || {dataset: {points: 0}}).dataset.points),
        Number((f.querySelector('path.band95') || {dataset: {points: 0}}).dataset.points),
        Number((f.querySelector('path.band80') || {dataset: {points: 0}}).dataset.points),
        (f.querySelector('.fan-note') || {}).textContent || null])""",
    "off_pace": """Array.from(document.querySelectorAll('#off-pace tbody tr')).map(tr => [tr.dataset.campaign,
        tr.dataset.metric, ...Array.from(tr.cells).slice(1).map(td => td.textContent)])""",
    "off_pace_title": "(t => t ? t.textContent : null)(document.getElementById('off-pace-title'))",
    "pacing_missing": "(n => n ? n.textContent : null)(document.getElementById('pacing-missing'))",
    "clipped": CLIPPED,
}


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


@dataclass
class PageVisit:
    """What happened while a page loaded, and the values evaluated in it afterwards."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


def visit(page: Page, report: Path, width: int | None = None, screenshot: Path | None = None) -> PageVisit:
    """Load the report (in a `width` px wide viewport when given) up to its load event, then evaluate every
    expression of EXPRESSIONS in it; `screenshot`: save the whole page there as PNG."""
    result = PageVisit()
    page.on("console", lambda m: result.errors.append(m.text) if m.type in ("error", "assert", "warning") else None)
    page.on("pageerror", lambda e: result.errors.append(str(e)))
    page.on("request", lambda r: result.requests.append(r.url))
    if width is not None:
        page.set_viewport_size({"width": width, "height": 900})
    page.goto(report.as_uri(), wait_until="load")
    for name, expression in EXPRESSIONS.items():
        try:
            result.values[name] = page.evaluate(expression)
        except PlaywrightError as exc:
            raise AssertionError(f"{name}: {exc}") from None
    if screenshot is not None:
        page.screenshot(path=screenshot, full_page=True)
    assert result.errors == []
    assert result.requests == [report.as_uri()]  # self-contained: nothing else is fetched
    assert result.values["rendered"] == "true"
    return result


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DuckDBWarehouse]:
    directory = tmp_path_factory.mktemp("report")
    warehouse = DuckDBWarehouse(directory / "wh.duckdb")
    with warehouse.connect() as con:
        con.execute(MARTS_SQL + RECONCILIATION_SQL + RECOMPUTE + FORECAST_DDL + FORECAST_SQL + PACING_DDL)
        insert(con, "marts.pacing_monthly", PACING_ROWS)
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
    page: Page, report: tuple[Path, DuckDBWarehouse], width: int, tmp_path: Path
) -> None:
    html, warehouse = report
    screenshot = tmp_path / f"report-{width}.png"
    values: dict[str, Any] = visit(page, html, width, screenshot).values
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

    channels_expected = expected_reconciliation(warehouse)
    assert values["reconciliation_channels"] == channels_expected
    assert values["reconciliation_verdict"] == expected_verdict(channels_expected)
    assert values["reconciliation_verdict"].endswith(
        ": all within tolerance; unchecked (no platform totals loaded): Microsoft Ads 5 account-days."
    )
    # Meta's five 0.003 differences add up exactly (a float sum would not), shown to the last digit.
    assert ["EUR", "-0.015000", "-0.015 EUR"] in values["reconciliation_channels"][1][-1]
    assert ["JPY", "0.000000", "0 JPY"] in values["reconciliation_channels"][0][-1]  # JPY has no decimals
    assert values["reconciliation_title"] == "No mismatches: every checked account-day is within tolerance."
    assert values["reconciliation_table_shown"] is False
    assert values["reconciliation_rows"] == []

    assert values["pacing_missing"] is None
    # actual spend from the first of the month to as_of; the forecast to the month's end, inside its bands
    assert values["fans"] == [
        ["google_ads", 18, 13, 13, 13, None],
        ["meta_ads", 18, 13, 13, 13, None],
        ["microsoft_ads", 16, 0, 0, 0, "no forecast: too little history"],
    ]
    assert values["off_pace_title"] == "3 campaign metrics off pace (worst first)"
    assert values["off_pace"] == [
        [
            "meta_ads/meta_ads-acct/meta_ads-c2",
            "spend",
            "spend",
            "target",
            "500.00",
            "640.00 (540.00 – 740.00)",
            "400.00",
            "EUR",
            "160%",
            "over",
        ],
        [
            "google_ads/google_ads-acct/google_ads-c0",
            "spend",
            "spend",
            "budget",
            "500.00",
            "700.50 (650.50 – 750.50)",
            "1,000.00",
            "EUR",
            "70%",
            "under",
        ],
        [
            "google_ads/google_ads-acct/google_ads-c3",
            "conversions",
            "conversions",
            "target",
            "500.0",
            "80.0 (75.0 – 85.0)",
            "100.0",
            "",
            "80%",
            "under",
        ],
    ]


def test_without_marts_the_report_says_so(page: Page, tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "wh.duckdb")
    write_checks(warehouse, checks(), "run-8")

    report = write_report(config_for(warehouse.path), tmp_path / "report.html")
    values: dict[str, Any] = visit(page, report).values

    assert values["notice"] is not None
    assert values["notice"].startswith("Marts not built yet.")
    assert values["series"] == {"spend": [], "revenue": [], "roas": []}
    assert values["heatmap_cells"] == len(checks())
    assert values["kpis"] == {"Volume anomalies": "1"}
    assert values["reconciliation_verdict"].startswith("Reconciliation has not run yet for this warehouse")
    assert values["pacing_missing"] == (
        "Not computed for this warehouse: marts.forecast_daily and marts.pacing_monthly do not exist (the "
        "forecast step is turned off or has not run)."
    )
    assert values["fans"] == []
    assert values["off_pace"] == []
    assert values["clipped"] == []


def expected_reconciliation(warehouse: DuckDBWarehouse) -> list[list[Any]]:
    """Per channel over the report's window, from marts.reconciliation_daily: account-days, checked, ok,
    mismatched and unchecked (an account-day is mismatched when any metric is), and the spend difference of
    the checked days per currency as exact decimal text."""
    days = "account_id || '|' || date_day"
    counts = warehouse.query(
        f"select channel, count(distinct {days}), "
        f"count(distinct case when verdict = 'unchecked' then {days} end), "
        f"count(distinct case when verdict = 'mismatch' then {days} end) "
        "from marts.reconciliation_daily where date_day between ? and ? group by channel order by channel",
        list(WINDOW),
    )
    differences: dict[str, list[tuple[str, Decimal]]] = {}
    for channel, currency, amount in warehouse.query(
        "select channel, account_currency, sum(difference) from marts.reconciliation_daily "
        "where metric = 'spend' and verdict <> 'unchecked' and date_day between ? and ? "
        "group by all order by all",
        list(WINDOW),
    ):
        differences.setdefault(channel, []).append((currency, amount))
    return [
        [
            channel,
            total,
            total - unchecked,
            total - unchecked - mismatched,
            mismatched,
            unchecked,
            [[c, format(a, "f"), f"{shown(a, DIGITS[c], signed=True)} {c}"] for c, a in differences.get(channel, [])],
        ]
        for channel, total, unchecked, mismatched in counts
    ]


def expected_verdict(channels: list[list[Any]]) -> str:
    checked = sum(c[2] for c in channels)
    mismatched = sum(c[4] for c in channels)
    reconciled = sum(1 for c in channels if c[2])
    unchecked = [f"{channel_label(c[0])} {c[5]} account-day{'s' * (c[5] != 1)}" for c in channels if c[5]]
    differ = f"{mismatched} account-day{'s differ' if mismatched != 1 else ' differs'}"
    return (
        f"{checked:,} account-days of {reconciled} channels reconciled with the platforms' own totals: "
        + (differ if mismatched else "all within tolerance")
        + ("; unchecked (no platform totals loaded): " + ", ".join(unchecked) if unchecked else "; none unchecked")
        + "."
    )


# The decimals the page shows an account currency's money with (at least; exact values keep all theirs).
DIGITS = {"EUR": 2, "USD": 2, "JPY": 0}


def shown(value: Decimal, digits: int, *, signed: bool = False) -> str:
    """A decimal as the page shows it: thousands separators, trailing zeros trimmed down to `digits`."""
    whole, _, fraction = f"{abs(value):,f}".partition(".")
    fraction = fraction.rstrip("0").ljust(digits, "0")
    sign = "-" if value < 0 else "+" if signed and value > 0 else ""
    return sign + whole + ("." + fraction if fraction else "")


def test_the_fake_reconciliation_has_the_model_columns(report: tuple[Path, DuckDBWarehouse]) -> None:
    _, warehouse = report
    model = yaml.safe_load((TRANSFORMATIONS_DIR / "models" / "marts" / "reconciliation_daily.yml").read_text())
    declared = [c["name"] for c in model["models"][0]["columns"]]
    faked = [r[0] for r in warehouse.query("select column_name from (describe marts.reconciliation_daily)")]
    assert faked == declared
    assert set(report_queries.RECONCILIATION_COLUMNS) <= set(declared)
    queries = report_queries.RECONCILIATION_CHANNELS + report_queries.RECONCILIATION_MISMATCHES
    assert all(column in queries for column in report_queries.RECONCILIATION_COLUMNS)


# Injected: Meta's spend 250.50 under the platform's, a Google EUR account-day with spend 0.02 over and
# conversion value 1.50 under, and 3 clicks missing from the Google JPY account: listed worst spend first.
MISMATCHES = [
    ("meta_ads", "meta_ads-acct", 10, "spend", "250.5"),
    ("google_ads", "google_ads-acct", 3, "spend", "-0.02"),
    ("google_ads", "google_ads-acct", 3, "conversion_value", "1.5"),
    ("google_ads", "4455", 20, "clicks", "3"),
]


def test_a_reconciliation_mismatch_is_listed_with_both_values(
    page: Page, report: tuple[Path, DuckDBWarehouse], tmp_path: Path
) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "wh.duckdb")
    shutil.copy(report[1].path, warehouse.path)
    with warehouse.connect() as con:
        for channel, account, day, metric, delta in MISMATCHES:
            con.execute(
                "update marts.reconciliation_daily set platform_value = landed_value + ? "
                "where channel = ? and account_id = ? and date_day = ? and metric = ?",
                [Decimal(delta), channel, account, FIRST_DAY + dt.timedelta(days=day), metric],
            )
        con.execute(RECOMPUTE)

    html = write_report(config_for(warehouse.path, CONNECTORS), tmp_path / "report.html")
    values: dict[str, Any] = visit(page, html, 800).values

    assert values["clipped"] == []
    channels = expected_reconciliation(warehouse)
    assert [c[4] for c in channels] == [2, 1, 0]  # mismatched account-days: google_ads, meta_ads, microsoft_ads
    assert values["reconciliation_channels"] == channels
    assert values["reconciliation_verdict"] == expected_verdict(channels)
    assert ": 3 account-days differ; unchecked (no platform totals loaded): " in values["reconciliation_verdict"]
    assert values["reconciliation_title"] == (
        "4 mismatched metrics in 3 account-days (all listed, worst spend difference first)"
    )
    assert values["reconciliation_table_shown"] is True
    stored = {
        (channel, account, str(day), metric): (platform, landed, difference)
        for channel, account, day, metric, platform, landed, difference in warehouse.query(
            "select channel, account_id, date_day, metric, platform_value, landed_value, difference "
            "from marts.reconciliation_daily where verdict = 'mismatch' and date_day between ? and ?",
            list(WINDOW),
        )
    }
    rows = values["reconciliation_rows"]
    keys = [(c, a, str(FIRST_DAY + dt.timedelta(days=d)), m) for c, a, d, m, _ in MISMATCHES]
    assert [tuple(row[:4]) for row in rows] == keys  # every mismatch of the window, worst spend first
    assert len(stored) == len(keys)  # the one before the window is left out
    labels = {"google_ads": "Google Ads", "meta_ads": "Meta Ads"}
    currency = {"meta_ads-acct": "EUR", "google_ads-acct": "EUR", "4455": "JPY"}
    for row, key in zip(rows, keys, strict=True):
        platform, landed, difference = stored[key]
        assert row[4:7] == [format(platform, "f"), format(landed, "f"), format(difference, "f")]  # exact
        money = key[3] in ("spend", "conversion_value")
        digits = DIGITS[currency[key[1]]] if money else 0
        assert row[7] == [
            f"{labels[key[0]]} · {key[1]}",
            key[2],
            key[3].replace("_", " "),
            shown(platform, digits),
            shown(landed, digits),
            shown(difference, digits, signed=True),
            currency[key[1]] if money else "-",
        ]
    assert rows[0][7][3:6] == ["280.625", "30.125", "-250.50"]


def test_a_warehouse_without_reconciliation_says_it_has_not_run(
    page: Page, report: tuple[Path, DuckDBWarehouse], tmp_path: Path
) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "wh.duckdb")
    shutil.copy(report[1].path, warehouse.path)
    with warehouse.connect() as con:
        con.execute("drop table marts.reconciliation_daily")

    html = write_report(config_for(warehouse.path, CONNECTORS), tmp_path / "report.html")
    values: dict[str, Any] = visit(page, html).values

    assert values["reconciliation_verdict"].startswith(
        "Reconciliation has not run yet for this warehouse: marts.reconciliation_daily does not exist."
    )
    assert values["reconciliation_channels"] == []
    assert values["reconciliation_title"] is None
    assert values["totals"] == expected_totals(warehouse)  # the rest of the report is there
    assert values["clipped"] == []
