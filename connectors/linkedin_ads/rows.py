"""adAnalytics elements -> typed raw records, or quarantined elements with their reason."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from connectors.base import Account
from connectors.kit.rows import BadRow, RowCollector
from connectors.linkedin_ads.geo import COUNTRIES
from connectors.linkedin_ads.schema import REPORT_TABLES
from connectors.linkedin_ads.settings import (
    ACCOUNT_URN,
    CAMPAIGN_GROUP_URN,
    CAMPAIGN_URN,
    CREATIVE_URN,
    GEO_URN,
    PIVOTS,
)
from mdp.numbers import NumberFormatError, parse_decimal

_MONEY_QUANTUM = Decimal("0.000001")
_MONEY_LIMIT = Decimal(10) ** 12  # decimal128(18, 6)
UTC = "UTC"

# adAnalytics field -> (raw column, kind)
METRIC_COLUMNS: dict[str, tuple[str, str]] = {
    "impressions": ("impressions", "count"),
    "clicks": ("clicks", "count"),
    "costInLocalCurrency": ("cost_in_local_currency", "money"),
    "externalWebsiteConversions": ("external_website_conversions", "count"),
    "conversionValueInLocalCurrency": ("conversion_value_in_local_currency", "money"),
}


@dataclass(frozen=True)
class Names:
    """An entity's id and name."""

    id: str
    name: str | None


@dataclass
class Entities:
    """An account's creatives -> campaign -> campaign group, with their names (ids are digits)."""

    creatives: dict[str, tuple[Names, str | None]] = field(default_factory=dict)  # creative -> (names, campaign)
    campaigns: dict[str, tuple[Names, str | None]] = field(default_factory=dict)  # campaign -> (names, group)
    groups: dict[str, Names] = field(default_factory=dict)


def urn_id(value: object, prefix: str) -> str:
    """The digits of a URN `prefix<digits>` (a bare number is accepted too).

    Raises:
        BadRow: missing_id or invalid_id.
    """
    if value in (None, ""):
        raise BadRow("missing_id", f"no {prefix.rstrip(':')}")
    text = str(value)
    digits = text.removeprefix(prefix)
    if not (digits.isascii() and digits.isdigit()):
        raise BadRow("invalid_id", f"{text!r} is not a {prefix}<id>")
    return digits


def element_day(element: Mapping[str, Any]) -> dt.date:
    """The day of a DAILY element (dateRange.start).

    Raises:
        BadRow: unparsable.
    """
    try:
        start = element["dateRange"]["start"]
        return dt.date(int(start["year"]), int(start["month"]), int(start["day"]))
    except (KeyError, TypeError, ValueError):
        raise BadRow("unparsable", f"dateRange {element.get('dateRange')!r} is not a day") from None


def metrics(element: Mapping[str, Any]) -> dict[str, Any]:
    """The metric columns of an element; a metric LinkedIn leaves out is 0.

    Raises:
        BadRow: unparsable, negative_cost, negative_metric or out_of_range.
    """
    record: dict[str, Any] = {}
    for api_name, (column, kind) in METRIC_COLUMNS.items():
        raw = element.get(api_name)
        record[column] = _number(api_name, raw, kind)
    return record


def _number(api_name: str, raw: object, kind: str) -> int | Decimal:
    if raw is None:
        return 0 if kind == "count" else Decimal(0)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise BadRow("unparsable", f"{api_name} {raw!r} is not a number")
    try:  # a float is read from its shortest repr, never through binary arithmetic
        number = Decimal(raw) if isinstance(raw, int) else parse_decimal(repr(raw) if isinstance(raw, float) else raw)
    except NumberFormatError as error:
        raise BadRow("unparsable", f"{api_name} {error}") from None
    if number < 0:
        raise BadRow("negative_cost" if api_name == "costInLocalCurrency" else "negative_metric", f"{api_name} {raw}")
    if kind == "count":
        if number != number.to_integral_value():
            raise BadRow("unparsable", f"{api_name} {raw!r} is not a whole number")
        return int(number)
    if number >= _MONEY_LIMIT:
        raise BadRow("out_of_range", f"{api_name} {raw!r}")
    return number.quantize(_MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


class AnalyticsBatch:
    """The rows of one account's adAnalytics answer for one stream: records and quarantined elements.

    ad_performance rows are unique by (date, creative), country_performance by (date, campaign group, geo),
    account_totals by date."""

    def __init__(
        self, stream: str, account: Account, start: dt.date, end: dt.date, entities: Entities | None = None
    ) -> None:
        self.stream, self.account, self.entities = stream, account, entities or Entities()
        key = {
            "ad_performance": ("date", "creative_id"),
            "country_performance": ("date", "campaign_group_id", "geo_id"),
        }.get(stream, ("date",))
        self.collector = RowCollector(REPORT_TABLES[stream], account.id, start, end, key=key)
        self.records, self.quarantine = self.collector.rows, self.collector.quarantine

    def add(self, element: Mapping[str, Any]) -> None:
        raw = json.dumps(element, ensure_ascii=False, sort_keys=True, default=str)
        try:
            record = self.parse(element)
        except BadRow as bad:
            try:
                day: dt.date | None = element_day(element)
            except BadRow:
                day = None
            self.collector.reject([bad.reason], day, raw)
            return
        self.collector.add([record], record=raw)

    def parse(self, element: Mapping[str, Any]) -> dict[str, Any]:
        """One element as a raw record (its account and day are checked by the collector).

        Raises:
            BadRow: the reason it must go to quarantine instead.
        """
        day = element_day(element)
        pivots = element.get("pivotValues")
        wanted = len(PIVOTS[self.stream])
        if not isinstance(pivots, list) or len(pivots) != wanted:
            raise BadRow("missing_id", f"pivotValues {pivots!r} is not {wanted} URN(s)")
        if not self.account.currency:
            raise BadRow("missing_value", "the account's currency is unknown")
        values = metrics(element)
        if self.stream == "account_totals":
            account_id = urn_id(pivots[0], ACCOUNT_URN)
            return {"date": day, "account_id": account_id, "account_currency": self.account.currency, **values}
        if self.stream == "country_performance":
            group_key = urn_id(pivots[0], CAMPAIGN_GROUP_URN)
            geo_id = urn_id(pivots[1], GEO_URN)
            code, country = COUNTRIES.get(geo_id, (None, None))
            return {
                "date": day,
                "account_id": self.account.id,
                "account_currency": self.account.currency,
                "campaign_group_id": group_key,
                "campaign_group_name": self.entities.groups.get(group_key, Names(group_key, None)).name,
                "geo_id": geo_id,
                "country_code": code,
                "country_name": country,
                **values,
            }
        creative_id = urn_id(pivots[0], CREATIVE_URN)
        known = self.entities.creatives.get(creative_id)
        if known is None:
            raise BadRow("missing_id", f"creative {creative_id} is not among the account's creatives")
        creative, campaign_id = known
        if campaign_id is None:
            raise BadRow("missing_id", f"creative {creative_id} names no campaign")
        campaign, group_id = self.entities.campaigns.get(campaign_id, (Names(campaign_id, None), None))
        if group_id is None:
            raise BadRow("missing_id", f"campaign {campaign_id} of creative {creative_id} has no known campaign group")
        group = self.entities.groups.get(group_id, Names(group_id, None))
        return {
            "date": day,
            "account_id": self.account.id,
            "account_name": self.account.name,
            "account_currency": self.account.currency,
            "account_timezone": UTC,
            "campaign_group_id": group.id,
            "campaign_group_name": group.name,
            "campaign_id": campaign.id,
            "campaign_name": campaign.name,
            "creative_id": creative.id,
            "creative_name": creative.name,
            **values,
        }


def entities_from(
    creatives: list[tuple[str, str | None, str | None]],
    campaigns: list[tuple[int, str | None, str | None]],
    groups: list[tuple[int, str | None]],
) -> Entities:
    """Entities from the searches' (urn or id, name, parent urn) triples; an unreadable URN is left out (its
    analytics rows are then quarantined as unknown)."""
    found = Entities()
    for urn, name, campaign in creatives:
        try:
            creative_id = urn_id(urn, CREATIVE_URN)
        except BadRow:
            continue
        found.creatives[creative_id] = (Names(creative_id, name), _maybe_id(campaign, CAMPAIGN_URN))
    for campaign_id, name, group in campaigns:
        found.campaigns[str(campaign_id)] = (Names(str(campaign_id), name), _maybe_id(group, CAMPAIGN_GROUP_URN))
    for group_id, name in groups:
        found.groups[str(group_id)] = Names(str(group_id), name)
    return found


def _maybe_id(urn: str | None, prefix: str) -> str | None:
    try:
        return urn_id(urn, prefix)
    except BadRow:
        return None
