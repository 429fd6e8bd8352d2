"""marts.forecast_daily and marts.pacing_monthly as the forecast flow writes them (the columns of the issue #30
contract), for the readers' tests: the DDL, a row builder and an insert."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb

MONEY = "decimal(38, 6)"
_BANDS = ("", "_lo80", "_hi80", "_lo95", "_hi95")
_GRAIN = """
    grain varchar, grain_key varchar, channel varchar, account_id varchar, campaign_id varchar,
    campaign_name varchar,"""
FORECAST_DDL = f"""
create schema if not exists marts;
create table marts.forecast_daily (
    as_of date, date_day date, horizon integer,{_GRAIN}
    currency varchar,
    {", ".join(f"spend{b} {MONEY}" for b in _BANDS)},
    {", ".join(f"conversions{b} double" for b in _BANDS)},
    {", ".join(f"conversion_value{b} {MONEY}" for b in _BANDS)},
    status varchar, history_days integer, model varchar, run_id varchar, generated_at timestamp
);
"""
PACING_DDL = f"""
create schema if not exists marts;
create table marts.pacing_monthly (
    as_of date, month date, days_elapsed integer, days_in_month integer,{_GRAIN}
    metric varchar, basis varchar, currency varchar,
    target {MONEY}, mtd_actual {MONEY}, expected_to_date {MONEY},
    projected {MONEY}, projected_lo80 {MONEY}, projected_hi80 {MONEY}, projected_lo95 {MONEY}, projected_hi95 {MONEY},
    pacing_ratio double, verdict varchar, off_pace boolean,
    model varchar, run_id varchar, generated_at timestamp
);
"""
GENERATED_AT = dt.datetime(2025, 3, 19, 6, 0)


def grain_columns(channel: str, account: str | None = None, campaign: str | None = None) -> dict[str, Any]:
    """grain, grain_key and the ids of a channel, account or campaign."""
    grain = "campaign" if campaign else "account" if account else "channel"
    key = "/".join(p for p in (channel, account, campaign) if p)
    return {"grain": grain, "grain_key": key, "channel": channel, "account_id": account, "campaign_id": campaign}


def pacing_row(
    as_of: dt.date,
    channel: str,
    account: str | None = None,
    campaign: str | None = None,
    *,
    metric: str = "spend",
    target: str = "1000",
    mtd: str = "500",
    projected: str = "1000",
    spread: str = "100",
    verdict: str = "on_track",
    off_pace: bool = False,
    basis: str = "target",
    campaign_name: str | None = None,
    currency: str | None = "EUR",
) -> dict[str, Any]:
    """One marts.pacing_monthly row; the 80% interval is projected ± spread, the 95% one ± 2 x spread."""
    month = as_of.replace(day=1)
    days_in_month = ((month + dt.timedelta(days=32)).replace(day=1) - month).days
    point, width, total = Decimal(projected), Decimal(spread), Decimal(target)
    return {
        "as_of": as_of,
        "month": month,
        "days_elapsed": as_of.day,
        "days_in_month": days_in_month,
        **grain_columns(channel, account, campaign),
        "campaign_name": campaign_name,
        "metric": metric,
        "basis": basis,
        "currency": currency if metric in ("spend", "conversion_value") else None,
        "target": total,
        "mtd_actual": Decimal(mtd),
        "expected_to_date": total * as_of.day / days_in_month,
        "projected": point,
        "projected_lo80": point - width,
        "projected_hi80": point + width,
        "projected_lo95": point - 2 * width,
        "projected_hi95": point + 2 * width,
        "pacing_ratio": float(point / total) if total else None,
        "verdict": verdict,
        "off_pace": off_pace,
        "model": "auto_ets",
        "run_id": "run-30",
        "generated_at": GENERATED_AT,
    }


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert dict rows by column name (columns left out are null)."""
    for row in rows:
        names = list(row)
        con.execute(
            f"insert into {table} ({', '.join(names)}) values ({', '.join('?' for _ in names)})",
            [row[n] for n in names],
        )
