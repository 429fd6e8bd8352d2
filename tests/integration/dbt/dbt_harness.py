"""Synthetic raw rows for the Google Ads and Meta Ads channels, their hand-computed expected marts, and a dbt runner bound to a
DuckDB file (helpers of the dbt integration tests)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
from dbt.cli.main import dbtRunnerResult

from connectors.google_ads.schema import AD_PERFORMANCE
from connectors.meta_ads.conversions import ConversionRule
from connectors.meta_ads.schema import AD_INSIGHTS
from flows.transform import DbtInvocation, all_source_tables, dbt_invocation, run_dbt
from mdp.config import PipelineConfig, config_from_mapping
from mdp.paths import TRANSFORMATIONS_DIR
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)
DAYS = (D1, D2, D3)
REPORTING_CURRENCY = "EUR"
# Meta's three purchase types report the same purchases; the connector's default rule (first_match) counts
# them once.
META_RULE = ConversionRule()


def _actions(pairs: Mapping[str, float]) -> str:
    return json.dumps([{"action_type": k, "value": str(v)} for k, v in pairs.items()])


def google_rows(day: dt.date, scale: int = 1) -> list[dict[str, Any]]:
    """Two accounts (EUR, USD); the USD one has a Performance Max campaign-level row (no ad group/ad)."""
    n = DAYS.index(day) + 1 if day in DAYS else 1
    common = {"date": day, "campaign_status": "ENABLED", "view_through_conversions": 0}
    eur = {
        **common,
        "customer_id": "1111111111",
        "customer_name": "Shop FR",
        "currency_code": "EUR",
        "account_timezone": "Europe/Paris",
    }
    usd = {
        **common,
        "customer_id": "2222222222",
        "customer_name": "Shop US",
        "currency_code": "USD",
        "account_timezone": "America/New_York",
    }
    search = {"campaign_id": "101", "campaign_name": "Search FR", "campaign_channel_type": "SEARCH"}
    return [
        {
            **eur,
            **search,
            "ad_group_id": "1001",
            "ad_group_name": "Brand",
            "ad_id": "50001",
            "row_level": "ad",
            "impressions": 1000 * n,
            "clicks": 50 * n,
            "cost_micros": 12_500_000 * n * scale,
            "conversions": 2.0 * n,
            "conversions_value": 80.0 * n,
        },
        {
            **eur,
            **search,
            "ad_group_id": "1001",
            "ad_group_name": "Brand",
            "ad_id": "50002",
            "row_level": "ad",
            "impressions": 400,
            "clicks": 0,
            "cost_micros": 0,
            "conversions": 0.0,
            "conversions_value": 0.0,
        },
        {
            **usd,
            "campaign_id": "201",
            "campaign_name": "PMax US",
            "campaign_channel_type": "PERFORMANCE_MAX",
            "ad_group_id": None,
            "ad_group_name": None,
            "ad_id": None,
            "row_level": "campaign",
            "impressions": 3000,
            "clicks": 90,
            "cost_micros": 40_000_000 * n,
            "conversions": 1.5,
            "conversions_value": 150.0 * n,
        },
    ]


def meta_rows(day: dt.date) -> list[dict[str, Any]]:
    """Two accounts (GBP, EUR); actions JSON with overlapping purchase types and non-purchase types, and the
    raw `conversions` / `conversion_value` the connector computes from them by its default rule."""
    n = DAYS.index(day) + 1 if day in DAYS else 1
    gbp = {
        "date": day,
        "account_id": "333",
        "account_name": "UK Store",
        "account_currency": "GBP",
        "account_timezone": "Europe/London",
        "campaign_id": "c31",
        "campaign_name": "Prospecting UK",
        "adset_id": "s311",
        "adset_name": "Lookalike",
        "reach": 800,
    }
    eur = {
        **gbp,
        "account_id": "444",
        "account_name": "DE Store",
        "account_currency": "EUR",
        "account_timezone": "Europe/Berlin",
        "campaign_id": "c41",
        "campaign_name": "Retargeting DE",
        "adset_id": "s411",
        "adset_name": "Visitors 30d",
    }
    rows = [
        {
            **gbp,
            "ad_id": "a3111",
            "ad_name": "Video",
            "impressions": 2000,
            "clicks": 40 * n,
            "spend": Decimal("30.250000"),
            "actions": _actions(
                {
                    "link_click": 40 * n,
                    "add_to_cart": 9,
                    "purchase": 3 * n,
                    "offsite_conversion.fb_pixel_purchase": 3 * n,
                    "omni_purchase": 3 * n,
                }
            ),
            "action_values": _actions(
                {
                    "purchase": 120.5 * n,
                    "offsite_conversion.fb_pixel_purchase": 120.5 * n,
                    "omni_purchase": 120.5 * n,
                }
            ),
        },
        {
            **gbp,
            "ad_id": "a3112",
            "ad_name": "Carousel",
            "impressions": 500,
            "clicks": 5,
            "spend": Decimal("4.000000"),
            "actions": _actions({"lead": 2, "offsite_conversion.fb_pixel_purchase": 1}),
            "action_values": _actions({"offsite_conversion.fb_pixel_purchase": 19.99}),
        },
        {
            **eur,
            "ad_id": "a4111",
            "ad_name": "Static",
            "impressions": 1500,
            "clicks": 30,
            "spend": Decimal("20.000000"),
            "actions": None,
            "action_values": None,
        },
    ]
    return [
        {
            **row,
            "conversions": META_RULE.conversions(_parsed(row["actions"])),
            "conversion_value": META_RULE.conversion_value(_parsed(row["action_values"])),
        }
        for row in rows
    ]


def _parsed(actions: str | None) -> list[dict[str, Any]] | None:
    return None if actions is None else json.loads(actions)


def meta_conversions(row: Mapping[str, Any], column: str) -> Decimal:
    """The connector's default conversion rule applied to a raw row's JSON list (what lands in raw)."""
    return META_RULE.total(_parsed(row[column]), column)


MICRO = Decimal("0.000001")


def money(value: float | Decimal | int) -> Decimal:
    """An amount as the marts hold it: rounded half away from zero to 6 decimal places (macro to_money)."""
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(MICRO, ROUND_HALF_UP)


def fx_convert(amount: Decimal, currency: str, day: dt.date, reporting: str = "EUR") -> Decimal:
    """The documented FX rule (DECISIONLOG.md): amount x units_per_eur(reporting) / units_per_eur(currency),
    rounded half away from zero to 6 decimal places, exactly; the amount itself in the reporting currency."""
    if currency == reporting:
        return money(amount)
    rates = fx_rates()
    with localcontext() as exact:
        exact.prec = 80
        return (money(amount) * rates[(day, reporting)] / rates[(day, currency)]).quantize(MICRO, ROUND_HALF_UP)


@cache
def fx_rates() -> dict[tuple[dt.date, str], Decimal]:
    """(day, currency) -> units of currency per 1 EUR, read from the committed seed (do not mutate)."""
    rates: dict[tuple[dt.date, str], Decimal] = {}
    with (TRANSFORMATIONS_DIR / "seeds" / "fx_rates_daily.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            day = dt.date.fromisoformat(row["date"])
            if D1 - dt.timedelta(days=60) <= day <= D3 + dt.timedelta(days=60):
                rates[(day, row["currency"])] = Decimal(row["rate"])
    return rates


@dataclass(frozen=True)
class Expected:
    """Hand-computed mart values from the synthetic input: per day, in the reporting currency, exact (each
    row converted by the documented FX rule, then summed)."""

    spend: dict[dt.date, Decimal]
    revenue: dict[dt.date, Decimal]
    meta_conversions: dict[dt.date, Decimal]
    fct_rows: int


def expected_totals(
    google: Sequence[Mapping[str, Any]],
    meta: Sequence[Mapping[str, Any]],
    reporting: str = REPORTING_CURRENCY,
) -> Expected:
    spend: dict[dt.date, Decimal] = {}
    revenue: dict[dt.date, Decimal] = {}
    conversions: dict[dt.date, Decimal] = {}
    zero = Decimal(0)

    for g in google:
        day, currency = g["date"], g["currency_code"]
        cost = Decimal(g["cost_micros"]) / 1_000_000
        spend[day] = spend.get(day, zero) + fx_convert(cost, currency, day, reporting)
        revenue[day] = revenue.get(day, zero) + fx_convert(money(g["conversions_value"]), currency, day, reporting)
    for m in meta:
        day, currency = m["date"], m["account_currency"]
        value = meta_conversions(m, "action_values")
        spend[day] = spend.get(day, zero) + fx_convert(m["spend"], currency, day, reporting)
        revenue[day] = revenue.get(day, zero) + fx_convert(value, currency, day, reporting)
        conversions[day] = conversions.get(day, zero) + meta_conversions(m, "actions")
    return Expected(spend, revenue, conversions, len(google) + len(meta))


@dataclass
class DbtProject:
    """The dbt project bound to one DuckDB file, with its own target and log directories; runs dbt the
    way the flow does (`flows.transform.dbt_invocation` + `run_dbt`)."""

    warehouse_path: Path
    work_dir: Path
    build_result: dbtRunnerResult | None = None

    def config(self, reporting_currency: str = REPORTING_CURRENCY) -> PipelineConfig:
        return config_from_mapping(
            {
                "reporting_currency": reporting_currency,
                "warehouse": {"type": "duckdb", "path": str(self.warehouse_path)},
            }
        )

    def invocation(
        self, command: str, *args: str, vars: Mapping[str, Any] | None = None, **options: Any
    ) -> DbtInvocation:
        return dbt_invocation(
            self.config(),
            command=command,
            vars=vars,
            target_path=self.work_dir / "target",
            log_path=self.work_dir / "logs",
            # no dbt.log: dbt leaves it open when run in-process (a ResourceWarning, an error under pytest)
            extra_args=(*args, "--log-level-file", "none"),
            **options,
        )

    def invoke(
        self, command: str, *args: str, vars: Mapping[str, Any] | None = None, **options: Any
    ) -> dbtRunnerResult:
        return run_dbt(self.invocation(command, *args, vars=vars, **options))

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(self.warehouse_path))
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def copy(self, work_dir: Path) -> DbtProject:
        """The same state in another file (for tests that change or break the data)."""
        work_dir.mkdir(parents=True, exist_ok=True)
        target = work_dir / "warehouse.duckdb"
        shutil.copyfile(self.warehouse_path, target)
        return DbtProject(target, work_dir)


def failures(result: dbtRunnerResult) -> list[str]:
    """'node: message' for every failed node of a dbt result (for assertion messages)."""
    if result.exception is not None:
        return [repr(result.exception)]
    return [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in (result.result or [])
        if str(r.status) in ("error", "fail", "runtime error")
    ]


def load_raw(warehouse: DuckDBWarehouse, google: list[dict[str, Any]], meta: list[dict[str, Any]], run: str) -> None:
    """Replace the (account, day) units of the rows, the way the ingest flow does."""
    for spec in all_source_tables():  # the other streams' tables exist, empty, as the flow creates them
        warehouse.ensure_table(spec)
    for spec, rows, account in ((AD_PERFORMANCE, google, "customer_id"), (AD_INSIGHTS, meta, "account_id")):
        scope = Scope.from_units({(r[account], r["date"]) for r in rows})
        warehouse.replace_partitions(spec, rows, scope, LoadContext(spec.schema_name, run))
