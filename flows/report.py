"""`mdp report`: one self-contained HTML file (inline data, script and styles; no network) with the period's
totals per channel, daily spend, revenue and ROAS per channel (immature days marked), the top campaigns, the
reconciliation with the platforms' own totals, pacing and forecast (a fan chart per channel, the campaigns off
pace), and the last run's volume checks."""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

from connectors.registry import connector_class
from flows import report_queries as q
from flows.pacing_marts import FORECAST_DAILY, PACING_MONTHLY, grain_label, read_pacing, worst_first
from flows.reconcile import MONEY_METRICS
from flows.volume import STATUSES
from mdp.config import PipelineConfig
from mdp.errors import ConfigError
from warehouse import Warehouse, from_config
from warehouse.base import sql_table, table_exists

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 90
TOP_CAMPAIGNS = 10
# Campaigns below this share of total spend are left out of the ROAS ranking (tiny spend, noisy ROAS).
MIN_SPEND_SHARE_FOR_ROAS = 0.01
ALL_CHANNELS = "all channels"
# The two original channels and the cross-channel total keep their colours; other channels take the
# palette's colours in name order (none of them close to the fixed ones or to the anomaly red).
FIXED_COLORS = {"google_ads": "#1a73e8", "meta_ads": "#7b3fe4", ALL_CHANNELS: "#3c4043"}
PALETTE = ("#e8710a", "#12939a", "#188038", "#c2185b", "#8d6e63", "#9e9d24", "#5c6bc0", "#00897b")
_ASSETS = files("flows").joinpath("report_assets")


@dataclass
class ReportData:
    """Everything the page shows, JSON-ready."""

    generated_at: str
    currency: str
    marts_missing: list[str] = field(default_factory=list)
    period: tuple[str, str] | None = None
    totals: list[dict[str, Any]] = field(default_factory=list)
    immature: list[dict[str, Any]] = field(default_factory=list)
    colors: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    channel_daily: list[dict[str, Any]] = field(default_factory=list)
    top_by_spend: list[dict[str, Any]] = field(default_factory=list)
    top_by_roas: list[dict[str, Any]] = field(default_factory=list)
    breakdowns: list[dict[str, Any]] = field(default_factory=list)
    checks_run_id: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    # None: marts.reconciliation_daily does not exist (dbt has not built it in this warehouse yet)
    reconciliation: dict[str, Any] | None = None
    # None: the forecast step's marts do not exist (forecast turned off or not run yet)
    pacing: dict[str, Any] | None = None


def _json_value(value: Any) -> Any:
    """A value as the page's JSON holds it: money (Decimal) as a number for the charts, dates as ISO text."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return round(value, 6)  # no float noise (234.95999999999998) in the page
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _cell(value: Any) -> Any:
    """A warehouse value for the report's rows: money stays Decimal (exact, printed from it), floats and
    dates as in the JSON."""
    return value if isinstance(value, Decimal) else _json_value(value)


def _rows(warehouse: Warehouse, sql: str, parameters: list[Any], columns: list[str]) -> list[dict[str, Any]]:
    return [{c: _cell(v) for c, v in zip(columns, row, strict=True)} for row in warehouse.query(sql, parameters)]


def _money(value: Any) -> Decimal:
    """An amount as Decimal (0 when null): the marts' money is DECIMAL/NUMERIC."""
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def _tables(warehouse: Warehouse) -> dict[str, str]:
    return {
        "channel_daily": sql_table(warehouse, q.MART_CHANNEL_DAILY),
        "campaign_daily": sql_table(warehouse, q.MART_CAMPAIGN_DAILY),
        "volume_checks": sql_table(warehouse, q.VOLUME_CHECKS),
        "reconciliation": sql_table(warehouse, q.RECONCILIATION),
        "forecast": sql_table(warehouse, FORECAST_DAILY),
    }


def channel_label(channel: str) -> str:
    """The connector's `display_name` (`tiktok_ads` -> "TikTok Ads"), else the type in title case
    (`acme_ads` -> "Acme Ads", also for a channel in the warehouse whose connector is gone)."""
    if channel == ALL_CHANNELS:
        return channel
    try:
        name = connector_class(channel).display_name
    except ConfigError:
        name = ""
    return name or channel.replace("_", " ").strip().title()


def channel_colors(channels: list[str]) -> dict[str, str]:
    """A distinct colour per channel: the fixed ones, then the palette in name order."""
    colors = {c: FIXED_COLORS[c] for c in channels if c in FIXED_COLORS}
    free = [c for c in PALETTE if c not in colors.values()]
    for i, channel in enumerate(sorted(c for c in set(channels) if c not in colors)):
        colors[channel] = free[i % len(free)]
    return colors


def channel_lookbacks(config: PipelineConfig) -> dict[str, int]:
    """Conversion lookback days per channel (a connector's channel in the marts is its type): the connector's
    configured `lookback_days`, else its type's default; the longest when several connectors share a type."""
    lookbacks: dict[str, int] = {}
    for section in config.enabled_connectors():
        days = section.lookback_days
        if days is None:
            try:
                days = connector_class(section.type).default_lookback_days
            except ConfigError as exc:
                logger.warning(
                    "report: no lookback for connector %s, its immature days are not marked: %s", section.name, exc
                )
                continue
        lookbacks[section.type] = max(days, lookbacks.get(section.type, 0))
    return lookbacks


def collect(
    warehouse: Warehouse, currency: str, days: int = DEFAULT_DAYS, lookbacks: dict[str, int] | None = None
) -> ReportData:
    """Read the marts (when built), the reconciliation and the last monitoring run's checks; `lookbacks` (days
    per channel, `channel_lookbacks`) mark each channel's immature days."""
    data = ReportData(dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), currency)
    names = _tables(warehouse)
    data.marts_missing = [m for m in q.MARTS if not table_exists(warehouse, m)]
    window = None
    if not data.marts_missing:
        window = _collect_marts(warehouse, data, names, days)
        if window is not None:
            _collect_totals(warehouse, data, names, window, lookbacks or {})
    if table_exists(warehouse, q.RECONCILIATION):
        data.reconciliation = _reconciliation(warehouse, names, window, days)
        data.labels |= {c["channel"]: channel_label(c["channel"]) for c in data.reconciliation["channels"]}
    if table_exists(warehouse, FORECAST_DAILY) and table_exists(warehouse, PACING_MONTHLY):
        data.pacing = _pacing(warehouse, names, q.MART_CHANNEL_DAILY not in data.marts_missing)
        data.labels |= {f["channel"]: channel_label(f["channel"]) for f in data.pacing["fans"]}
        data.colors = channel_colors(sorted(set(data.colors) | {f["channel"] for f in data.pacing["fans"]}))
    if table_exists(warehouse, q.VOLUME_CHECKS):
        columns = [
            "connector",
            "account_id",
            "day",
            "metric",
            "observed",
            "baseline",
            "deviation",
            "status",
            "reason",
            "run_id",
            "checked_at",
        ]
        data.checks = _rows(warehouse, q.LAST_RUN_CHECKS.format(**names), [], columns)
        data.checks_run_id = data.checks[0]["run_id"] if data.checks else None
    return data


def _collect_marts(
    warehouse: Warehouse, data: ReportData, names: dict[str, str], days: int
) -> tuple[dt.date, dt.date] | None:
    """The daily series, campaigns and breakdowns of the `days` up to the last day with data; returns that
    window (None when the marts are empty)."""
    found = warehouse.query(q.LAST_DAY.format(**names))
    last, currency = found[0] if found else (None, None)
    if last is None:
        return None
    last_day = last if isinstance(last, dt.date) else dt.date.fromisoformat(str(last))
    first_day = last_day - dt.timedelta(days=days - 1)
    data.currency = str(currency or data.currency)
    window = [first_day, last_day]
    data.channel_daily = _rows(
        warehouse, q.CHANNEL_DAILY.format(**names), window, ["day", "channel", "spend", "revenue"]
    )
    if data.channel_daily:
        data.period = (data.channel_daily[0]["day"], data.channel_daily[-1]["day"])
    campaigns = _rows(
        warehouse,
        q.CAMPAIGN_TOTALS.format(**names),
        window,
        ["channel", "account_id", "account_name", "campaign_id", "campaign_name", "spend", "revenue"],
    )
    for campaign in campaigns:
        spend, revenue = _money(campaign["spend"]), _money(campaign["revenue"])
        campaign["spend"], campaign["revenue"] = spend, revenue
        campaign["roas"] = _ratio(revenue, spend)
    data.top_by_spend = sorted(campaigns, key=lambda c: -c["spend"])[:TOP_CAMPAIGNS]
    total = float(sum((c["spend"] for c in campaigns), Decimal(0)))
    eligible = [c for c in campaigns if c["roas"] is not None and float(c["spend"]) >= MIN_SPEND_SHARE_FOR_ROAS * total]
    data.top_by_roas = sorted(eligible, key=lambda c: -c["roas"])[:TOP_CAMPAIGNS]
    data.breakdowns = _breakdowns(warehouse, window)
    return first_day, last_day


def _ratio(numerator: Any, denominator: Any) -> float | None:
    """A ratio (ROAS, CPC, CPA) as a float, None when the denominator is 0 or null."""
    return float(numerator or 0) / float(denominator) if denominator else None


def _with_ratios(row: dict[str, Any]) -> dict[str, Any]:
    """ROAS, CPC and CPA from the row's sums."""
    return row | {
        "roas": _ratio(row["revenue"], row["spend"]),
        "cpc": _ratio(row["spend"], row["clicks"]),
        "cpa": _ratio(row["spend"], row["conversions"]),
    }


def _collect_totals(
    warehouse: Warehouse,
    data: ReportData,
    names: dict[str, str],
    window: tuple[dt.date, dt.date],
    lookbacks: dict[str, int],
) -> None:
    """The period's totals per channel and for all channels, and each channel's immature days: the last
    `lookback` days up to the channel's own last day with data."""
    money, counts = ["spend", "revenue"], ["clicks", "impressions", "conversions"]
    measures = money + counts
    rows = _rows(warehouse, q.CHANNEL_TOTALS.format(**names), list(window), ["channel", *measures, "last_day"])
    for row in rows:
        row.update({m: _money(row[m]) for m in money} | {m: float(row[m] or 0) for m in counts})
    data.totals = [_with_ratios(row) for row in rows]
    if rows:
        total: dict[str, Any] = {m: sum((r[m] for r in rows), Decimal(0)) for m in money}
        total |= {m: sum(r[m] for r in rows) for m in counts}
        data.totals.append(_with_ratios({"channel": ALL_CHANNELS} | total))
    for row in rows:
        lookback = lookbacks.get(row["channel"])
        if not lookback:
            continue
        last = dt.date.fromisoformat(row["last_day"])
        data.immature.append(
            {
                "channel": row["channel"],
                "lookback_days": lookback,
                "last_day": row["last_day"],
                "first_day": (last - dt.timedelta(days=lookback - 1)).isoformat(),
            }
        )
    channels = [row["channel"] for row in data.totals]
    data.colors = channel_colors(channels)
    data.labels = {c: channel_label(c) for c in channels}


def _month_end(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def _pacing(warehouse: Warehouse, names: dict[str, str], with_actuals: bool) -> dict[str, Any]:
    """A fan per channel (its latest forecast): the month-to-date actual spend from the first day of the
    as_of's month, and the forecast mean with its 80% and 95% intervals to the end of the month that follows
    as_of; and the campaigns off pace (marts.pacing_monthly, each channel's latest as_of), worst first."""
    columns = ["channel", "as_of", "day", "status", "mean", "lo80", "hi80", "lo95", "hi95"]
    forecast = _rows(warehouse, q.CHANNEL_FORECAST.format(**names), [], columns)
    fans: dict[str, dict[str, Any]] = {}
    for row in forecast:
        as_of = dt.date.fromisoformat(row["as_of"])
        fan = fans.setdefault(
            row["channel"],
            {
                "channel": row["channel"],
                "as_of": row["as_of"],
                "first_day": as_of.replace(day=1).isoformat(),
                "last_day": _month_end(as_of + dt.timedelta(days=1)).isoformat(),
                "statuses": [],
                "actual": [],
                "forecast": [],
            },
        )
        if row["day"] > fan["last_day"]:
            continue
        if row["status"] not in fan["statuses"]:
            fan["statuses"].append(row["status"])
        values = [row[k] for k in ("mean", "lo80", "hi80", "lo95", "hi95")]
        if all(v is not None for v in values):
            fan["forecast"].append([row["day"], *(_json_value(v) for v in values)])
    if fans and with_actuals:
        first = min(f["first_day"] for f in fans.values())
        last = max(f["as_of"] for f in fans.values())
        sql = q.CHANNEL_SPEND.format(**names)
        for row in _rows(
            warehouse, sql, [dt.date.fromisoformat(first), dt.date.fromisoformat(last)], ["channel", "day", "spend"]
        ):
            mine = fans.get(row["channel"])
            if mine and mine["first_day"] <= row["day"] <= mine["as_of"]:
                mine["actual"].append([row["day"], _json_value(row["spend"])])
    off_pace = [r for r in worst_first(read_pacing(warehouse)) if r["grain"] == "campaign"]
    return {"fans": list(fans.values()), "off_pace": off_pace}


def _exact(value: Any) -> str | None:
    """Money or a count as exact decimal text for the page's JSON ("-0.004000"), never through a float."""
    return None if value is None else format(_money(value), "f")


def _reconciliation(
    warehouse: Warehouse, names: dict[str, str], window: tuple[dt.date, dt.date] | None, days: int
) -> dict[str, Any]:
    """Account-days checked, ok, mismatched and unchecked per channel, the spend difference per account
    currency, and every mismatched metric, over the report's window (without mart data: the `days` up to the
    last reconciled day). Amounts are exact decimal text."""
    if window is None:
        found = warehouse.query(q.RECONCILIATION_LAST_DAY.format(**names))
        last = found[0][0] if found else None
        if last is None:
            return {"period": None, "channels": [], "mismatches": []}
        last_day = last if isinstance(last, dt.date) else dt.date.fromisoformat(str(last)[:10])
        window = (last_day - dt.timedelta(days=days - 1), last_day)
    parameters = list(window)
    channels: dict[str, dict[str, Any]] = {}
    columns = ["channel", "currency", "account_days", "mismatched", "unchecked", "spend_difference"]
    for row in _rows(warehouse, q.RECONCILIATION_CHANNELS.format(**names), parameters, columns):
        channel = channels.setdefault(
            row["channel"],
            {"channel": row["channel"], "account_days": 0, "mismatched": 0, "unchecked": 0, "spend_difference": []},
        )
        for count in ("account_days", "mismatched", "unchecked"):
            channel[count] += int(row[count] or 0)
        if row["spend_difference"] is not None:  # None: no checked day in this currency
            channel["spend_difference"].append({"currency": row["currency"], "amount": _exact(row["spend_difference"])})
    for channel in channels.values():
        channel["checked"] = channel["account_days"] - channel["unchecked"]
        channel["ok"] = channel["checked"] - channel["mismatched"]
    columns = ["channel", "account_id", "day", "metric", "currency", "platform", "landed", "difference", "tolerance"]
    mismatches = _rows(warehouse, q.RECONCILIATION_MISMATCHES.format(**names), parameters, columns)
    for mismatch in mismatches:
        mismatch |= {key: _exact(mismatch[key]) for key in ("platform", "landed", "difference", "tolerance")}
        mismatch["money"] = mismatch["metric"] in MONEY_METRICS
    return {
        "period": [window[0].isoformat(), window[1].isoformat()],
        "channels": list(channels.values()),
        "mismatches": mismatches,
    }


def _breakdowns(warehouse: Warehouse, window: list[dt.date]) -> list[dict[str, Any]]:
    """The top rows of each built breakdown report over the period (spend-less reports rank by conversions)."""
    out = []
    for key, title, table, label, where in q.BREAKDOWNS:
        if not table_exists(warehouse, table):
            continue
        has_spend = key != "conversion_actions"
        sql = q.BREAKDOWN.format(
            table=sql_table(warehouse, table),
            label=label,
            where=where,
            spend="sum(spend_reporting)" if has_spend else "null",
            clicks="sum(clicks)" if has_spend else "null",
            rank="3" if has_spend else "6",
            limit=q.BREAKDOWN_ROWS,
        )
        rows = _rows(warehouse, sql, window, ["label", "channel", "spend", "revenue", "clicks", "conversions"])
        out.append({"key": key, "title": title, "table": table, "has_spend": has_spend, "rows": rows})
    return out


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    text = json.dumps(value, default=_json_value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(data: ReportData) -> str:
    """The HTML page: the data as inline JSON, drawn into SVG charts by the inline script."""
    style = _ASSETS.joinpath("report.css").read_text(encoding="utf-8")
    script = _ASSETS.joinpath("report.js").read_text(encoding="utf-8")
    payload = asdict(data) | {
        "statuses": list(STATUSES),
        "palette": list(PALETTE),
        "reconciliation_table": q.RECONCILIATION,
    }
    period = f"{data.period[0]} to {data.period[1]}" if data.period else "no mart data"
    notices = []
    if data.marts_missing:
        notices.append(
            '<p class="notice" id="marts-missing"><strong>Marts not built yet.</strong> Missing: '
            + ", ".join(f"<code>{html.escape(m)}</code>" for m in data.marts_missing)
            + ". Run the pipeline with its dbt step (<code>mdp run</code>) to build them; the performance "
            "charts appear here afterwards.</p>"
        )
    if not data.checks:
        notices.append(
            '<p class="notice" id="checks-missing"><strong>No volume checks yet.</strong> '
            "The monitoring flow writes them to <code>ops.volume_checks</code>.</p>"
        )
    page = _ASSETS.joinpath("page.html").read_text(encoding="utf-8")
    breakdowns = "\n".join(_breakdown_table(b, data.currency) for b in data.breakdowns)
    return page.format(
        pacing=_pacing_section(data),
        totals=_totals_table(data),
        immature=_immature_text(data),
        title="Marketing performance report",
        style=style,
        script=script,
        data=_script_json(payload),
        period=html.escape(period),
        currency=html.escape(data.currency),
        generated=html.escape(data.generated_at),
        notices="\n".join(notices),
        breakdowns=breakdowns,
    )


def _number(value: Any, digits: int = 0) -> str:
    """A number for the page; money (Decimal) is formatted from the Decimal itself, never through a float."""
    if value is None:
        return "–"
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP):,}"
    return f"{float(value):,.{digits}f}"


def _totals_table(data: ReportData) -> str:
    """The period's totals per channel and for all channels; ratios from the sums."""
    if not data.totals:
        return '<p class="empty">No channel totals for this period.</p>'
    cur = html.escape(data.currency)
    columns = [
        ("spend", "Spend", 2),
        ("revenue", "Revenue", 2),
        ("roas", "ROAS", 2),
        ("clicks", "Clicks", 0),
        ("impressions", "Impressions", 0),
        ("conversions", "Conversions", 1),
        ("cpc", "CPC", 2),
        ("cpa", "CPA", 2),
    ]
    head = '<th scope="col">Channel</th>' + "".join(f'<th scope="col" class="num">{h}</th>' for _, h, _ in columns)
    body = []
    for row in data.totals:
        channel = str(row["channel"])
        name = html.escape(channel)
        label = html.escape(data.labels.get(channel, channel))
        color = html.escape(data.colors.get(channel, "#5f6368"))
        css = ' class="total"' if channel == ALL_CHANNELS else ""
        body.append(
            f'<tr data-channel="{name}"{css}><th scope="row"><span class="swatch" style="--swatch: {color}"></span>'
            f"{label}</th>"
            + "".join(f'<td class="num">{_number(row[key], digits)}</td>' for key, _, digits in columns)
            + "</tr>"
        )
    return (
        f'<table id="channel-totals"><caption>{html.escape(data.period[0] if data.period else "")} to '
        f"{html.escape(data.period[1] if data.period else '')}; spend, revenue, CPC and CPA in {cur}; ROAS = revenue / "
        "spend, CPC = spend / clicks, CPA = spend / conversions, each from the period's sums</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _immature_text(data: ReportData) -> str:
    """What "immature" means, with each channel's lookback."""
    if not data.immature:
        return ""
    each = "; ".join(
        f"{html.escape(data.labels.get(i['channel'], i['channel']))}: {i['lookback_days']} days, "
        f"{i['first_day']} to {i['last_day']}"
        for i in data.immature
    )
    return (
        '<p id="immature-note" class="meta"><strong>Immature days</strong> are the days within a connector\'s '
        "conversion lookback (<code>lookback_days</code> in pipeline.yaml, else the connector's default) up to its "
        "last loaded day: the platforms "
        "still attribute conversions to them, so their conversions, revenue and ROAS will rise as the pipeline "
        "re-reads them. The daily charts shade them, dash their lines and span each channel's own with a bar in its "
        f"colour above the chart. {each}.</p>"
    )


def _pacing_section(data: ReportData) -> str:
    """A figure per channel for the script's fan charts and the table of the campaigns off pace; without the
    forecast step's marts, one line saying so."""
    if data.pacing is None:
        return (
            f'<p id="pacing-missing" class="meta">Not computed for this warehouse: <code>{FORECAST_DAILY}</code> and '
            f"<code>{PACING_MONTHLY}</code> do not exist (the forecast step is turned off or has not run).</p>"
        )
    figures = "".join(
        f'<figure class="chart" data-chart="fan-{html.escape(f["channel"])}" data-fan="{html.escape(f["channel"])}">'
        f"<figcaption>{html.escape(data.labels.get(f['channel'], f['channel']))}: daily spend, month to date and "
        f'forecast <span class="unit">(as of {html.escape(f["as_of"])}, {html.escape(data.currency)})</span>'
        "</figcaption></figure>"
        for f in data.pacing["fans"]
    )
    grid = f'<div class="grid two">{figures}</div>' if figures else '<p class="empty">No channel forecast yet.</p>'
    return grid + _off_pace_table(data.pacing["off_pace"])


def _off_pace_table(rows: list[dict[str, Any]]) -> str:
    """The campaigns off pace, worst first: month to date, projected month end (80% interval), target or
    budget, pacing ratio and verdict."""
    if not rows:
        return '<h3 id="off-pace-title">No campaign is off pace.</h3>'
    body = []
    for row in rows:
        digits = 1 if row["metric"] == "conversions" else 2
        low, high = row["projected_lo80"], row["projected_hi80"]
        interval = (
            f" ({_number(low, digits)} – {_number(high, digits)})" if low is not None and high is not None else ""
        )
        unit = str(row["currency"] or "")
        ratio = row["pacing_ratio"]
        cells = [
            (str(row["metric"]).replace("_", " "), ""),
            ("budget" if row["basis"] == "daily_budget" else str(row["basis"]), ""),
            (_number(row["mtd_actual"], digits), "num"),
            (_number(row["projected"], digits) + interval, "num"),
            (_number(row["target"], digits), "num"),
            (unit, ""),
            ("–" if ratio is None else f"{float(ratio):.0%}", "num"),
            (str(row["verdict"]).replace("_", " "), ""),
        ]
        label = html.escape(grain_label(row))
        body.append(
            f'<tr data-campaign="{html.escape(str(row["grain_key"]))}" data-metric="{html.escape(str(row["metric"]))}" '
            f'class="verdict-{html.escape(str(row["verdict"]))}"><th scope="row" title="{label}">{label}</th>'
            + "".join(f'<td class="{css}">{html.escape(text)}</td>' for text, css in cells)
            + "</tr>"
        )
    numeric = {"month to date", "projected month end (80%)", "target", "pacing"}
    head = "".join(
        f'<th scope="col" class="{"num" if name in numeric else ""}">{name}</th>'
        for name in (
            "campaign",
            "metric",
            "basis",
            "month to date",
            "projected month end (80%)",
            "target",
            "currency",
            "pacing",
            "verdict",
        )
    )
    return (
        f'<h3 id="off-pace-title">{len(rows)} campaign metric{"s" if len(rows) != 1 else ""} off pace '
        "(worst first)</h3>"
        f'<div class="scroll-box"><table id="off-pace"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _breakdown_table(breakdown: dict[str, Any], currency: str) -> str:
    """One breakdown as an HTML table: spend, revenue, ROAS, clicks, CPC, conversions, CPA (or, without spend,
    conversions and their value)."""
    cur = html.escape(currency)
    if breakdown["has_spend"]:
        columns = ["spend", "revenue", "ROAS", "clicks", "CPC", "conv.", "CPA"]
    else:
        columns = ["conversions", "value"]
    head = "<th></th><th>channel</th>" + "".join(f'<th class="num">{h}</th>' for h in columns)
    body = []
    for row in breakdown["rows"]:
        spend, revenue = row["spend"], _money(row["revenue"])
        clicks, conversions = row["clicks"], row["conversions"] or 0.0
        if breakdown["has_spend"]:
            cells = [
                _number(spend, 2),
                _number(revenue, 2),
                _number(_ratio(revenue, spend), 2),
                _number(clicks),
                _number(_ratio(spend, clicks), 2),
                _number(conversions, 1),
                _number(_ratio(spend, conversions), 2),
            ]
        else:
            cells = [_number(conversions, 1), _number(revenue, 2)]
        label = html.escape(str(row["label"]))
        body.append(
            f'<tr><th scope="row" title="{label}">{label}</th><td>{html.escape(str(row["channel"]))}</td>'
            + "".join(f'<td class="num">{c}</td>' for c in cells)
            + "</tr>"
        )
    rows = "".join(body) or f'<tr><td colspan="9">no rows in {html.escape(breakdown["table"])} for the period</td></tr>'
    return (
        f'<figure class="breakdown" data-breakdown="{breakdown["key"]}"><figcaption>{html.escape(breakdown["title"])}'
        f' <span class="unit">({cur})</span></figcaption>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></figure>"
    )


def write_report(config: PipelineConfig, out_path: Path | str, days: int = DEFAULT_DAYS) -> Path:
    """Write the report of the configured warehouse to `out_path` (directories created) and return it."""
    path = Path(out_path).expanduser().resolve()
    data = collect(from_config(config, read_only=True), config.reporting_currency, days, channel_lookbacks(config))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(data), encoding="utf-8")
    logger.info("report written to %s", path)
    return path
