"""Entity snapshots: an account's campaigns, ad sets, ads and creatives from their Graph edges (paged), as
typed raw rows of the snapshot day, or quarantined with a reason."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connectors.base import Account
from connectors.kit.rows import BadRow, RowCollector
from connectors.meta_ads.graph import GraphClient, cursor_pages
from connectors.meta_ads.rows import _decimal, _identifier, _json
from connectors.meta_ads.schema import SNAPSHOT_TABLES
from connectors.meta_ads.settings import SNAPSHOT_EDGES, currency_offset
from mdp.schema import QuarantinedRow, TableSpec

_GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"


def edge_pages(client: GraphClient, account_id: str, stream: str, limit: int) -> Iterator[list[Any]]:
    """The pages of one account edge (`act_<id>/campaigns` ...) with the stream's fields."""
    edge, fields = SNAPSHOT_EDGES[stream]
    what = f"account {account_id}: read {edge}"
    yield from cursor_pages(
        client, (f"act_{account_id}", edge), {"fields": ",".join(fields), "limit": limit}, what=what
    )


def parse_entity(raw: Any, stream: str, account: Account, day: dt.date) -> dict[str, Any]:
    """One edge item as a snapshot record of `day`.

    Raises:
        BadRow: the reason it must go to quarantine instead.
    """
    if not isinstance(raw, Mapping):
        raise BadRow("malformed", f"item is not a JSON object ({type(raw).__name__})")
    record: dict[str, Any] = {"snapshot_date": day, "account_id": account.id, "id": _identifier(raw, "id")}
    record.update(_PARSERS[stream](raw, account))
    return record


def _campaign(raw: Mapping[str, Any], account: Account) -> dict[str, Any]:
    return {
        "name": _text(raw, "name"),
        "status": _text(raw, "status"),
        "effective_status": _text(raw, "effective_status"),
        "objective": _text(raw, "objective"),
        **_budgets(raw, account),
        "bid_strategy": _text(raw, "bid_strategy"),
        "start_time": _time(raw, "start_time"),
        "stop_time": _time(raw, "stop_time"),
        "created_time": _time(raw, "created_time"),
        "updated_time": _time(raw, "updated_time"),
    }


def _adset(raw: Mapping[str, Any], account: Account) -> dict[str, Any]:
    targeting = raw.get("targeting")
    if targeting is not None and not isinstance(targeting, Mapping):
        raise BadRow("malformed", f"targeting is not an object ({targeting!r})")
    geo = (targeting or {}).get("geo_locations")
    countries = geo.get("countries") if isinstance(geo, Mapping) else None
    if countries is not None and not (isinstance(countries, list) and all(isinstance(c, str) for c in countries)):
        raise BadRow("malformed", f"targeting.geo_locations.countries is not a list of codes ({countries!r})")
    return {
        "name": _text(raw, "name"),
        "campaign_id": _optional_id(raw, "campaign_id"),
        "status": _text(raw, "status"),
        "effective_status": _text(raw, "effective_status"),
        **_budgets(raw, account),
        "optimization_goal": _text(raw, "optimization_goal"),
        "billing_event": _text(raw, "billing_event"),
        "targeting_countries": None if countries is None else json.dumps(countries, separators=(",", ":")),
    }


def _ad(raw: Mapping[str, Any], account: Account) -> dict[str, Any]:
    creative = raw.get("creative")
    if creative is not None and not isinstance(creative, Mapping):
        raise BadRow("malformed", f"creative is not an object ({creative!r})")
    return {
        "name": _text(raw, "name"),
        "adset_id": _optional_id(raw, "adset_id"),
        "campaign_id": _optional_id(raw, "campaign_id"),
        "status": _text(raw, "status"),
        "effective_status": _text(raw, "effective_status"),
        "creative_id": _optional_id(creative, "id") if creative else None,
    }


def _creative(raw: Mapping[str, Any], account: Account) -> dict[str, Any]:
    story = _object(raw, "object_story_spec")
    link_data = _object(story, "link_data") if story else None
    feed = _object(raw, "asset_feed_spec")
    return {
        "name": _text(raw, "name"),
        "object_type": _text(raw, "object_type"),
        "link_url": _first(_text(link_data, "link"), _feed_text(feed, "link_urls", "website_url")),
        "url_tags": _text(raw, "url_tags"),
        "title": _first(_text(raw, "title"), _text(link_data, "name"), _feed_text(feed, "titles", "text")),
        "body": _first(_text(raw, "body"), _text(link_data, "message"), _feed_text(feed, "bodies", "text")),
    }


_PARSERS: dict[str, Callable[[Mapping[str, Any], Account], dict[str, Any]]] = {
    "campaign_snapshot": _campaign,
    "adset_snapshot": _adset,
    "ad_snapshot": _ad,
    "creative_snapshot": _creative,
}


def budget(value: Any, currency: str | None, name: str = "budget") -> Decimal | None:
    """A Graph budget (minor units, as a string) in currency units; None when absent or "0" (not set here)."""
    if value is None or value == "":
        return None
    minor = _decimal(value, name)
    if minor < 0:
        raise BadRow("negative_metric", f"{name} ({value})")
    if minor == 0:
        return None
    return (minor / currency_offset(currency)).quantize(Decimal("0.000001"))


def _budgets(raw: Mapping[str, Any], account: Account) -> dict[str, Any]:
    return {
        "account_currency": account.currency,
        "daily_budget": budget(raw.get("daily_budget"), account.currency, "daily_budget"),
        "lifetime_budget": budget(raw.get("lifetime_budget"), account.currency, "lifetime_budget"),
    }


def _text(raw: Mapping[str, Any] | None, name: str) -> str | None:
    value = raw.get(name) if raw else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRow("unparsable", f"{name} is not a string ({value!r})")
    return value


def _optional_id(raw: Mapping[str, Any], name: str) -> str | None:
    return _identifier(raw, name) if raw.get(name) not in (None, "") else None


def _object(raw: Mapping[str, Any] | None, name: str) -> Mapping[str, Any] | None:
    value = raw.get(name) if raw else None
    if value is not None and not isinstance(value, Mapping):
        raise BadRow("malformed", f"{name} is not an object ({value!r})")
    return value


def _feed_text(feed: Mapping[str, Any] | None, name: str, key: str) -> str | None:
    items = feed.get(name) if feed else None
    if not isinstance(items, list):
        return None
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get(key), str) and item[key]:
            return str(item[key])
    return None


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def _time(raw: Mapping[str, Any], name: str) -> dt.datetime | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRow("unparsable", f"{name} is not a time ({value!r})")
    try:
        parsed = dt.datetime.strptime(value, _GRAPH_TIME)
    except ValueError:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise BadRow("unparsable", f"{name} is not a time ({value!r})") from None
    if parsed.tzinfo is None:
        raise BadRow("unparsable", f"{name} has no UTC offset ({value!r})")
    return parsed.astimezone(dt.UTC)


@dataclass
class SnapshotBatch:
    """Items of one account edge, checked: records and quarantined items (a repeated id included)."""

    account: Account
    stream: str
    day: dt.date

    def __post_init__(self) -> None:
        self.spec: TableSpec = SNAPSHOT_TABLES[self.stream]
        self.known = frozenset(SNAPSHOT_EDGES[self.stream][1])
        self.unknown: set[str] = set()
        self.collector = RowCollector(self.spec, self.account.id, self.day, self.day, key=("id",))

    def parse(self, items: list[Any]) -> tuple[list[dict[str, Any]], list[QuarantinedRow]]:
        for raw in items:
            if isinstance(raw, Mapping):
                self.unknown |= set(raw) - self.known
            try:
                record = parse_entity(raw, self.stream, self.account, self.day)
            except BadRow as bad:
                self.collector.reject([bad.reason], self.day, _json(raw))
                continue
            self.collector.add([record], record=_json(raw))
        return self.collector.take()
