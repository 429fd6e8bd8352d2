"""Reading marts.pacing_monthly and marts.forecast_daily (written by flows/forecast.py) for the readers:
`mdp pacing`, `mdp demo`, the report and the Slack pacing alert. Read-only; no Prefect import."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from mdp.errors import MDPError
from warehouse import Warehouse
from warehouse.base import sql_table, table_exists

PACING_MONTHLY = "marts.pacing_monthly"
FORECAST_DAILY = "marts.forecast_daily"
GRAINS = ("channel", "account", "campaign")
# The columns of marts.pacing_monthly (docs: /work/notes/spec30.md, the marts' YAML once built by the flow).
PACING_COLUMNS = (
    "as_of",
    "month",
    "days_elapsed",
    "days_in_month",
    "grain",
    "grain_key",
    "channel",
    "account_id",
    "campaign_id",
    "campaign_name",
    "metric",
    "basis",
    "currency",
    "target",
    "mtd_actual",
    "expected_to_date",
    "projected",
    "projected_lo80",
    "projected_hi80",
    "projected_lo95",
    "projected_hi95",
    "pacing_ratio",
    "verdict",
    "off_pace",
    "model",
    "run_id",
    "generated_at",
)
METRICS = ("spend", "conversions", "conversion_value", "roas")

# Each channel's rows of its latest as_of (a run replaces its (channel, as_of); channels whose data stop
# earlier keep an earlier as_of), optionally of one month only; channel grain first, then accounts and campaigns.
# {where} / {where_p} are "" or "and month = ?" / "and p.month = ?".
LATEST_PACING = """
with latest as (
    select channel, max(as_of) as as_of
    from {pacing}
    where true {where}
    group by channel
)
select {columns}
from {pacing} as p
inner join latest as l on p.channel = l.channel and p.as_of = l.as_of
where true {where_p}
order by
    case p.grain when 'channel' then 0 when 'account' then 1 else 2 end,
    p.channel,
    p.grain_key,
    case p.metric when 'spend' then 0 when 'conversions' then 1 when 'conversion_value' then 2 else 3 end,
    p.basis
"""


class PacingNotComputed(MDPError):
    """marts.pacing_monthly does not exist: the forecast step has not run (or is turned off)."""


def read_pacing(warehouse: Warehouse, month: dt.date | None = None) -> list[dict[str, Any]]:
    """The rows of marts.pacing_monthly of each channel's latest as_of (of `month`, its first day, when given),
    channel grain first, then accounts, then campaigns. Raises PacingNotComputed without the mart."""
    if not table_exists(warehouse, PACING_MONTHLY):
        raise PacingNotComputed(
            f"{PACING_MONTHLY} does not exist: run `mdp run` with forecast enabled first "
            "(pipeline.yaml `forecast: {enabled: true}`)"
        )
    where = "and month = ?" if month is not None else ""
    sql = LATEST_PACING.format(
        columns=", ".join(f"p.{c}" for c in PACING_COLUMNS),
        pacing=sql_table(warehouse, PACING_MONTHLY),
        where=where,
        where_p=where.replace("month", "p.month"),
    )
    parameters = [month, month] if month is not None else []
    return [dict(zip(PACING_COLUMNS, row, strict=True)) for row in warehouse.query(sql, parameters)]


def json_row(row: dict[str, Any]) -> dict[str, Any]:
    """A pacing row for JSON: decimals as exact text ("1234.500000"), dates and times in ISO form."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Decimal):
            value = format(value, "f")
        elif isinstance(value, dt.date | dt.datetime):
            value = value.isoformat()
        out[key] = value
    return out


def grain_label(row: dict[str, Any]) -> str:
    """The grain's ids and name as a reader knows them: `google_ads`, `google_ads 123`,
    `google_ads 123/456 "Spring sale"`."""
    if row["grain"] == "channel":
        return str(row["channel"])
    if row["grain"] == "account":
        return f"{row['channel']} {row['account_id']}"
    name = f' "{row["campaign_name"]}"' if row.get("campaign_name") else ""
    return f"{row['channel']} {row['account_id']}/{row['campaign_id']}{name}"


def severity(row: dict[str, Any]) -> float:
    """How far off pace a row is: |pacing_ratio - 1| (0 without a ratio)."""
    ratio = row.get("pacing_ratio")
    return abs(float(ratio) - 1) if ratio is not None else 0.0


def worst_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The off-pace rows, the largest |pacing_ratio - 1| first (then channel, account, campaign grain)."""
    off = [r for r in rows if r.get("off_pace")]
    rank = {g: i for i, g in enumerate(GRAINS)}
    return sorted(off, key=lambda r: (-severity(r), rank.get(r["grain"], 9), str(r["grain_key"]), str(r["metric"])))
