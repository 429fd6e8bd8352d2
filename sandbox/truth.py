"""The sandbox's single source of rows and the "truth" API tests compare loaded data with."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from sandbox import history
from sandbox.data import META, Account, Channel, DailyRecord, SyntheticData, money_unit_micros, normalize_account_id
from sandbox.faults import FaultPlan
from sandbox.hashing import stable_hash

logger = logging.getLogger(__name__)

Level = Literal["ad", "campaign", "account"]
# Meta action types counted as conversions by default (the example configuration's list).
# Meta reports a pixel purchase under `purchase`, `offsite_conversion.fb_pixel_purchase` and
# `omni_purchase` at once: summing more than one of them double counts.
DEFAULT_META_CONVERSION_ACTION_TYPES: tuple[str, ...] = ("purchase",)
_MICROS = Decimal(1_000_000)


@dataclass(frozen=True)
class Totals:
    """Sums over rows, money in account currency units (exact decimals)."""

    rows: int = 0
    impressions: int = 0
    clicks: int = 0
    cost: Decimal = Decimal(0)
    conversions: Decimal = Decimal(0)
    conversion_value: Decimal = Decimal(0)

    @property
    def cost_micros(self) -> int:
        return int(self.cost * _MICROS)

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.rows + other.rows,
            self.impressions + other.impressions,
            self.clicks + other.clicks,
            self.cost + other.cost,
            self.conversions + other.conversions,
            self.conversion_value + other.conversion_value,
        )


def record_conversions(record: DailyRecord, action_types: Sequence[str]) -> tuple[Decimal, Decimal]:
    """(conversions, conversion value) of one record; Meta sums the given action types."""
    if record.channel != META:
        return Decimal(record.conversions_centi) / 100, Decimal(record.conversions_value_micros) / _MICROS
    counts = dict(record.actions)
    values = dict(record.action_value_micros)
    return (
        Decimal(sum(counts.get(t, 0) for t in action_types)),
        Decimal(sum(values.get(t, 0) for t in action_types)) / _MICROS,
    )


class Truth:
    """What the sandbox serves: synthetic data, data faults applied, as of a movable date.

    Both servers read rows through `records`, so what a client receives equals what `day_totals`
    reports (up to call/row faults such as malformed rows, which alter only one response).
    """

    def __init__(self, data: SyntheticData, faults: FaultPlan | None = None, as_of: date | None = None) -> None:
        self.data = data
        self.faults = faults if faults is not None else FaultPlan()
        self.as_of = as_of

    def resolve_as_of(self, as_of: date | None = None) -> date:
        """The explicit date, else the sandbox clock, else today."""
        return as_of or self.as_of or date.today()

    def accounts(self, channel: Channel) -> list[Account]:
        return self.data.accounts(channel)

    def records(
        self,
        channel: Channel,
        account_id: str,
        day: date,
        as_of: date | None = None,
        *,
        apply_faults: bool = True,
    ) -> list[DailyRecord]:
        """Leaf records (ads, and ad-less campaigns on Google) of one account and day."""
        account = normalize_account_id(account_id)
        records = [
            r
            for r in self.data.records(channel, account, day, self.resolve_as_of(as_of))
            if r.ad_id is None or not self.ad_paused(channel, account, r.ad_id, day)
        ]
        if not apply_faults:
            return records
        for fault in self.faults.data_faults(channel, account, day):
            if fault.kind == "row_drop":
                keep = float(fault.param("keep_fraction", 0.1))
                kept = [r for r in records if stable_hash("keep", r.ad_id or r.campaign_id) % 1000 < keep * 1000]
                records = kept or records[:1]
            elif fault.kind == "spend_spike":
                factor = float(fault.param("factor", 10.0))
                info = self.data.account(channel, account)
                unit = money_unit_micros(info.currency) if info is not None else 10_000
                records = [replace(r, cost_micros=round(r.cost_micros * factor / unit) * unit) for r in records]
        return records

    def ad_paused(self, channel: Channel, account_id: str, ad_id: str, day: date) -> bool:
        """Whether the ad was paused on `day` (sandbox.history): a paused ad delivers nothing that day."""
        ad = self.data.structure(channel, account_id).ad_by_id[ad_id]
        return history.state(self.data.seed, ad_id, ad.name, day).paused

    def day_totals(
        self,
        channel: Channel,
        account_id: str,
        day: date,
        *,
        as_of: date | None = None,
        level: Level = "ad",
        action_types: Sequence[str] = DEFAULT_META_CONVERSION_ACTION_TYPES,
        apply_faults: bool = True,
    ) -> Totals:
        """Totals of one account and day as the API reports them at `level`.

        `level="ad"` sums ad-level rows (Google `ad_group_ad`, Meta `level=ad`): Google Performance Max
        spend is NOT in it. `"campaign"` and `"account"` include it. `rows` counts the rows the API
        returns at that level (ads, campaigns, or 1 account row when there is any data).
        """
        records = self.records(channel, account_id, day, as_of, apply_faults=apply_faults)
        if level == "ad":
            records = [r for r in records if r.is_ad_level]
            rows = len(records)
        elif level == "campaign":
            rows = len({r.campaign_id for r in records})
        else:
            rows = 1 if records else 0
        return _sum(records, rows, action_types)

    def totals(
        self,
        channel: Channel,
        account_id: str,
        start: date,
        end: date,
        *,
        as_of: date | None = None,
        level: Level = "ad",
        action_types: Sequence[str] = DEFAULT_META_CONVERSION_ACTION_TYPES,
        apply_faults: bool = True,
    ) -> Totals:
        """`day_totals` summed over start..end inclusive."""
        total = Totals()
        for day in daterange(start, end):
            total += self.day_totals(
                channel,
                account_id,
                day,
                as_of=as_of,
                level=level,
                action_types=action_types,
                apply_faults=apply_faults,
            )
        return total


def _sum(records: Iterable[DailyRecord], rows: int, action_types: Sequence[str]) -> Totals:
    impressions = clicks = cost = 0
    conversions = value = Decimal(0)
    for r in records:
        impressions += r.impressions
        clicks += r.clicks
        cost += r.cost_micros
        conv, val = record_conversions(r, action_types)
        conversions += conv
        value += val
    return Totals(rows, impressions, clicks, Decimal(cost) / _MICROS, conversions, value)


def daterange(start: date, end: date) -> Iterable[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)
