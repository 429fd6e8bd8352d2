"""Meta custom insights and passthrough fields: what each insights field the facebook-business SDK declares is
(a dimension, a count, an amount, a ratio, or a list of actions), the checks of a `custom_insights` entry and of a
passthrough field, the raw columns they land as, and the parsing of their rows.

A custom stream is either scalar (one row per day, entity and breakdown value) or a list stream (list-of-actions
fields, exploded into one row per action type and action breakdown value): never both, so that every additive
metric column sums to Meta's total over the rows of a day.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

import pyarrow as pa
from facebook_business.adobjects.adsinsights import AdsInsights

from connectors.base import Account
from connectors.kit.custom import CUSTOM_NAME_PATTERN, CustomColumn, CustomStream, column_name, custom_stream
from connectors.kit.custom import passthrough_column as kit_passthrough_column
from connectors.kit.rows import BadRow
from connectors.kit.schema import MONEY
from connectors.meta_ads.conversions import ConversionRule
from connectors.meta_ads.exceptions import MetaAdsRetryableError
from connectors.meta_ads.graph import GraphClient
from connectors.meta_ads.reports import ReportRunner, insights_params
from connectors.meta_ads.rows import (
    RowFormat,
    _action_list,
    _check_account,
    _day,
    _decimal,
    _identifier,
)
from connectors.meta_ads.settings import (
    INSIGHTS_LEVEL,
    RETIRED_ATTRIBUTION_WINDOWS,
    InsightsQuery,
    MetaAdsSettings,
)
from mdp.errors import ConfigError
from mdp.identifiers import first_non_ascii

Kind = Literal["id", "text", "count", "money", "ratio", "count_list", "money_list", "ratio_list"]
LIST_KINDS = frozenset({"count_list", "money_list", "ratio_list"})
DIMENSION_KINDS = frozenset({"id", "text"})
LEVELS: tuple[str, ...] = ("account", "campaign", "adset", "ad")  # each level's rows name the levels above it


def _enum(cls: type) -> frozenset[str]:
    return frozenset(v for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, str))


# What the SDK declares (facebook_business.adobjects.adsinsights.AdsInsights).
SDK_FIELD_TYPES: dict[str, str] = dict(AdsInsights._field_types)
SDK_BREAKDOWNS = _enum(AdsInsights.Breakdowns)
SDK_ACTION_BREAKDOWNS = _enum(AdsInsights.ActionBreakdowns)
SDK_ATTRIBUTION_WINDOWS = _enum(AdsInsights.ActionAttributionWindows)
SDK_ACTION_REPORT_TIMES = _enum(AdsInsights.ActionReportTime)
SDK_LEVELS = _enum(AdsInsights.Level)


@dataclass(frozen=True)
class FieldInfo:
    """What an insights field is: its kind, whether it adds up over rows, and the least level that has it."""

    kind: Kind
    additive: bool = True
    level: str = "account"

    @property
    def money(self) -> bool:
        return self.kind in ("money", "money_list")

    @property
    def arrow_type(self) -> pa.DataType:
        if self.kind in DIMENSION_KINDS:
            return pa.string()
        if self.kind == "count":
            return pa.int64()
        if self.money:
            return MONEY
        return pa.float64()  # ratios, and action counts (Meta's modelled conversions are fractional)


def _catalogue() -> dict[str, FieldInfo]:
    kinds: dict[str, FieldInfo] = {
        "account_name": FieldInfo("text"),
        "campaign_id": FieldInfo("id", level="campaign"),
        "campaign_name": FieldInfo("text", level="campaign"),
        "objective": FieldInfo("text", level="campaign"),
        "buying_type": FieldInfo("text", level="campaign"),
        "adset_id": FieldInfo("id", level="adset"),
        "adset_name": FieldInfo("text", level="adset"),
        "ad_id": FieldInfo("id", level="ad"),
        "ad_name": FieldInfo("text", level="ad"),
        # Ad relevance diagnostics exist for ads only.
        "quality_ranking": FieldInfo("text", level="ad"),
        "engagement_rate_ranking": FieldInfo("text", level="ad"),
        "conversion_rate_ranking": FieldInfo("text", level="ad"),
    }
    for name in ("impressions", "clicks", "inline_link_clicks", "inline_post_engagement", "full_view_impressions"):
        kinds[name] = FieldInfo("count")
    for name in ("reach", "unique_clicks", "unique_inline_link_clicks", "full_view_reach", "estimated_ad_recallers"):
        kinds[name] = FieldInfo("count", additive=False)  # people, deduplicated: not additive
    for name in ("spend", "social_spend"):
        kinds[name] = FieldInfo("money")
    for name in (
        "cpc",
        "cpm",
        "cpp",
        "cost_per_inline_link_click",
        "cost_per_inline_post_engagement",
        "cost_per_unique_click",
        "cost_per_unique_inline_link_click",
        "cost_per_estimated_ad_recallers",
    ):
        kinds[name] = FieldInfo("money", additive=False)
    for name in (
        "ctr",
        "frequency",
        "unique_ctr",
        "inline_link_click_ctr",
        "unique_inline_link_click_ctr",
        "unique_link_clicks_ctr",
        "estimated_ad_recall_rate",
    ):
        kinds[name] = FieldInfo("ratio", additive=False)
    for name in (
        "actions",
        "conversions",
        "outbound_clicks",
        "ad_click_actions",
        "ad_impression_actions",
        "catalog_segment_actions",
        "conversion_leads",
        "instant_experience_outbound_clicks",
        "interactive_component_tap",
        "mmp_credited_install",
        "video_play_actions",
        "video_p25_watched_actions",
        "video_p50_watched_actions",
        "video_p75_watched_actions",
        "video_p95_watched_actions",
        "video_p100_watched_actions",
        "video_thruplay_watched_actions",
        "video_continuous_2_sec_watched_actions",
        "video_6_sec_watched_actions",
        "video_15_sec_watched_actions",
        "video_30_sec_watched_actions",
    ):
        kinds[name] = FieldInfo("count_list")
    for name in (
        "unique_actions",
        "unique_conversions",
        "unique_outbound_clicks",
        "unique_video_continuous_2_sec_watched_actions",
        "unique_video_view_15_sec",
    ):
        kinds[name] = FieldInfo("count_list", additive=False)
    for name in ("action_values", "conversion_values", "catalog_segment_value"):
        kinds[name] = FieldInfo("money_list")
    for name in (
        "cost_per_action_type",
        "cost_per_conversion",
        "cost_per_outbound_click",
        "cost_per_thruplay",
        "cost_per_unique_action_type",
        "cost_per_unique_conversion",
        "cost_per_unique_outbound_click",
        "cost_per_15_sec_video_view",
        "cost_per_2_sec_continuous_video_view",
        "cost_per_6_sec_video_view",
        "cost_per_ad_click",
        "cost_per_conversion_lead",
        "cost_per_mmp_credited_install",
    ):
        kinds[name] = FieldInfo("money_list", additive=False)
    for name in (
        "purchase_roas",
        "website_purchase_roas",
        "mobile_app_purchase_roas",
        "website_ctr",
        "outbound_clicks_ctr",
        "unique_outbound_clicks_ctr",
        "video_avg_time_watched_actions",
        "video_view_per_impression",
        "conversion_lead_rate",
    ):
        kinds[name] = FieldInfo("ratio_list", additive=False)
    return kinds


FIELDS: dict[str, FieldInfo] = _catalogue()
# Columns every custom table has already (connectors.kit.custom.KEY_COLUMNS) and the day.
ALWAYS_LANDED = {
    "account_id": "account_id",
    "account_currency": "account_currency",
    "date_start": "date",
    "date_stop": "date",
}
# https://developers.facebook.com/docs/marketing-api/insights/breakdowns: Type 1 breakdowns leave off-Meta
# actions out of the rows; hourly breakdowns have no unique fields (unique_*, reach) and no video_* fields;
# the video_p*_watched_actions do not support region; frequency_value goes with reach only; platform_position
# needs publisher_platform.
HOURLY_BREAKDOWNS = frozenset(
    {"hourly_stats_aggregated_by_advertiser_time_zone", "hourly_stats_aggregated_by_audience_time_zone"}
)
TYPE1_BREAKDOWNS = frozenset({"region", "dma", *HOURLY_BREAKDOWNS})
OFF_META_LISTS = frozenset(
    {
        "actions",
        "action_values",
        "conversions",
        "conversion_values",
        "unique_actions",
        "unique_conversions",
        "cost_per_action_type",
        "cost_per_conversion",
        "cost_per_unique_action_type",
        "cost_per_unique_conversion",
        "purchase_roas",
        "website_purchase_roas",
        "mobile_app_purchase_roas",
        "website_ctr",
    }
)
VIDEO_PERCENT_FIELDS = frozenset(f"video_p{p}_watched_actions" for p in (25, 50, 75, 95, 100))
# A Type 2 action breakdown value Meta leaves out of an entry (off-Meta web actions) lands as Meta's own bucket.
UNKNOWN_ACTION_BREAKDOWN = "unknown"

_MONEY_QUANTUM = Decimal("0.000001")
_MONEY_LIMIT = Decimal(10) ** 12  # decimal128(18, 6)
_TOKEN = re.compile(r"[a-z0-9_]+", re.ASCII)


def _hint(value: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, sorted(candidates), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _token(value: object, what: str) -> str:
    """`value` when it is one lower-case ASCII name ([a-z0-9_]); anything else (a list in one string, quotes,
    whitespace, a look-alike letter) is refused here, before it can reach a request."""
    if not isinstance(value, str):
        raise ValueError(f"expected the name of one {what}, got {value!r}")
    if _TOKEN.fullmatch(value):
        return value
    odd = first_non_ascii(value)
    if odd:
        raise ValueError(f"{value!r} is not a Meta {what} (ASCII only: {odd})")
    bad = next((c for c in value if not _TOKEN.fullmatch(c)), value[:1])
    if bad == ",":
        raise ValueError(f"{value!r} is not a Meta {what}: one name per list entry")
    raise ValueError(f"{value!r} is not a Meta {what}: {bad!r} is not allowed (lower-case letters, digits and _)")


def check_field(value: object, level: str | None, breakdowns: Sequence[str]) -> str:
    """One entry of `fields`: a field of the SDK's insights, of a kind this connector can type, available at
    `level` and with `breakdowns`."""
    name = _token(value, "insights field")
    if name in ALWAYS_LANDED:
        raise ValueError(f"{name!r} is always in a custom table (column {ALWAYS_LANDED[name]!r}); leave it out")
    if name in SDK_ACTION_BREAKDOWNS and name not in SDK_FIELD_TYPES:
        raise ValueError(f"{name!r} is an action breakdown: list it under action_breakdowns")
    if name in SDK_BREAKDOWNS and name not in SDK_FIELD_TYPES:
        raise ValueError(f"{name!r} is a breakdown: list it under breakdowns (Graph adds its value to each row)")
    if name not in SDK_FIELD_TYPES:
        raise ValueError(f"unknown field {name!r}{_hint(name, SDK_FIELD_TYPES)}")
    info = FIELDS.get(name)
    if info is None:
        sdk_type = SDK_FIELD_TYPES[name]
        if sdk_type.startswith("list<") and sdk_type != "list<AdsActionStats>":
            raise ValueError(f"{name!r} is a nested object ({sdk_type}) with no column type; it cannot be landed")
        raise ValueError(
            f"{name!r} is not a metric or dimension custom_insights can type (the SDK declares it {sdk_type!r} "
            "without saying what it holds)"
        )
    if level is not None and LEVELS.index(level) < LEVELS.index(info.level):
        raise ValueError(f"{name!r} is not in rows of level {level!r} (it needs level {info.level!r} or below)")
    given = set(breakdowns)
    if name in OFF_META_LISTS and given & TYPE1_BREAKDOWNS:
        which = sorted(given & TYPE1_BREAKDOWNS)[0]
        raise ValueError(f"{name!r} cannot be broken down by {which!r}: Meta leaves off-Meta actions out of those rows")
    if given & HOURLY_BREAKDOWNS and (name.startswith(("unique_", "video_")) or name in ("reach", "frequency")):
        raise ValueError(f"{name!r} is not available with an hourly breakdown")
    if name in VIDEO_PERCENT_FIELDS and "region" in given:
        raise ValueError(f"{name!r} does not support the region breakdown")
    return name


def check_breakdown(value: object) -> str:
    name = _token(value, "breakdown")
    if name in SDK_ACTION_BREAKDOWNS and name not in SDK_BREAKDOWNS:
        raise ValueError(f"{name!r} is an action breakdown: list it under action_breakdowns")
    if name not in SDK_BREAKDOWNS:
        raise ValueError(f"unknown breakdown {name!r}{_hint(name, SDK_BREAKDOWNS)}")
    return name


def check_breakdowns(names: Sequence[str]) -> Sequence[str]:
    if len(set(names)) != len(names):
        raise ValueError(f"a breakdown is listed twice: {sorted({n for n in names if names.count(n) > 1})}")
    if "platform_position" in names and "publisher_platform" not in names:
        raise ValueError("platform_position needs publisher_platform beside it (Meta refuses it alone)")
    return names


def check_action_breakdown(value: object) -> str:
    name = _token(value, "action breakdown")
    if name in SDK_BREAKDOWNS and name not in SDK_ACTION_BREAKDOWNS:
        raise ValueError(f"{name!r} is a breakdown, not an action breakdown: list it under breakdowns")
    if name not in SDK_ACTION_BREAKDOWNS:
        raise ValueError(f"unknown action breakdown {name!r}{_hint(name, SDK_ACTION_BREAKDOWNS)}")
    return name


def check_window(value: object) -> str:
    name = _token(value, "attribution window")
    if name in RETIRED_ATTRIBUTION_WINDOWS:
        raise ValueError(f"{name!r} is no longer returned by Meta (since 2026-01-12)")
    if name == "default":
        raise ValueError("'default' (the account's attribution setting) is always landed, as the field's own column")
    if name not in SDK_ATTRIBUTION_WINDOWS:
        raise ValueError(f"unknown attribution window {name!r}{_hint(name, SDK_ATTRIBUTION_WINDOWS)}")
    return name


def listed_twice(names: Sequence[str], what: str) -> Sequence[str]:
    if len(set(names)) != len(names):
        raise ValueError(f"{what} listed twice: {sorted({n for n in names if names.count(n) > 1})}")
    return names


@dataclass(frozen=True)
class Entry:
    """A validated `custom_insights` entry, as connectors.meta_ads.settings.CustomInsight holds it."""

    name: str
    level: str
    fields: tuple[str, ...]
    breakdowns: tuple[str, ...] = ()
    action_breakdowns: tuple[str, ...] = ()
    action_attribution_windows: tuple[str, ...] = ()
    action_report_time: str | None = None

    @property
    def lists(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if FIELDS[f].kind in LIST_KINDS)

    @property
    def level_id(self) -> str | None:
        """The id that makes a row of this level unique (None at account level: the account is the key)."""
        return None if self.level == "account" else f"{self.level}_id"

    @property
    def request_action_breakdowns(self) -> tuple[str, ...]:
        """What the request asks for: action_type first (every entry is keyed by it), then the others."""
        if not self.lists:
            return ()
        return ("action_type", *(b for b in self.action_breakdowns if b != "action_type"))


def check_entry(entry: Entry) -> None:
    """What only the whole entry tells: scalars and lists never share a stream, what applies to the list fields
    only needs one, frequency_value goes with reach alone, and no two fields give one column."""
    lists = entry.lists
    scalars = [f for f in entry.fields if FIELDS[f].kind not in DIMENSION_KINDS | LIST_KINDS]
    if lists and scalars:
        raise ValueError(
            f"fields: the list fields {list(lists)} land one row per action type, so the metrics {scalars} would "
            "repeat on every one of them; declare them in another custom_insights entry"
        )
    if not lists and not scalars:
        raise ValueError("fields: no metric (only dimensions); add at least one metric")
    if not lists:
        for key, given in (
            ("action_breakdowns", entry.action_breakdowns),
            ("action_attribution_windows", entry.action_attribution_windows),
            ("action_report_time", entry.action_report_time),
        ):
            if given:
                raise ValueError(f"{key}: applies to list-of-actions fields (actions, ...) only, and fields has none")
    if "frequency_value" in entry.breakdowns and set(scalars) != {"reach"}:
        raise ValueError("breakdowns: frequency_value goes with the reach field alone")
    columns = entry_columns(entry)
    seen: dict[str, str] = {}
    reserved = {"account_id", "date", "account_currency"}
    for column in columns:
        if column.name in reserved:
            raise ValueError(f"{column.source!r} would be column {column.name!r}, which every custom table has")
        if column.name in seen:
            raise ValueError(
                f"{seen[column.name]!r} and {column.source!r} would both be column {column.name!r}; keep one"
            )
        seen[column.name] = column.source


def entry_columns(entry: Entry) -> list[CustomColumn]:
    """The columns of an entry's table after account_id, date and account_currency: the level's id, the
    dimension fields, the breakdowns, (list streams) action_type and the action breakdowns, then the metrics
    in the order listed, each list field followed by one column per attribution window."""
    columns: list[CustomColumn] = []
    level_id = entry.level_id
    if level_id is not None and level_id not in entry.fields:
        columns.append(CustomColumn(level_id, pa.string(), "dimension", doc=f"{entry.level} id (the row's entity)"))
    for name in entry.fields:
        info = FIELDS[name]
        if info.kind in DIMENSION_KINDS:
            columns.append(CustomColumn(name, pa.string(), "dimension", doc=f"Meta insights {name}"))
    for name in entry.breakdowns:
        columns.append(CustomColumn(name, pa.string(), "dimension", doc=f"Meta breakdown {name}"))
    for name in entry.request_action_breakdowns:
        doc = f"Meta action breakdown {name}" + (
            f" ({UNKNOWN_ACTION_BREAKDOWN!r} when Meta leaves it out)" if name != "action_type" else ""
        )
        columns.append(CustomColumn(name, pa.string(), "dimension", doc=doc))
    for name in entry.fields:
        info = FIELDS[name]
        if info.kind in DIMENSION_KINDS:
            continue
        what = "the entry's `value`" if info.kind in LIST_KINDS else "Meta insights"
        columns.append(_metric(name, info, f"{name}: {what} (account's attribution setting)", column_name(name)))
        if info.kind in LIST_KINDS:
            for window in entry.action_attribution_windows:
                doc = f"{name} in the {window} attribution window"
                columns.append(_metric(f"{name}:{window}", info, doc, window_column(name, window)))
    return columns


def window_column(field: str, window: str) -> str:
    """The column of a list field's attribution window: `actions` + `7d_click` -> `actions_7d_click`."""
    return column_name(f"{field}_{window}")


def _metric(source: str, info: FieldInfo, doc: str, name: str) -> CustomColumn:
    if not info.additive:
        doc += "; not additive (a ratio or deduplicated people): never sum it"
    return CustomColumn(source, info.arrow_type, "metric", doc=doc, name=name, money=info.money, additive=info.additive)


def entry_query(entry: Entry) -> InsightsQuery:
    """The insights request of an entry (daily rows): its fields, the level's id, the account and the day."""
    wanted = [entry.level_id] if entry.level_id else []
    fields = tuple(dict.fromkeys(["account_id", *wanted, *entry.fields, "date_start", "date_stop"]))
    return InsightsQuery(
        entry.level,
        fields,
        entry.breakdowns,
        action_breakdowns=entry.request_action_breakdowns,
        attribution_windows=bool(entry.action_attribution_windows),
    )


def stream_of(channel: str, entry: Entry, where: str) -> CustomStream:
    kind = "one row per action type" if entry.lists else "one row per day"
    description = (
        f"Meta Ads custom insights {entry.name!r} (level {entry.level}, {kind}"
        + (f", by {', '.join(entry.breakdowns)}" if entry.breakdowns else "")
        + ")"
    )
    return custom_stream(channel, entry.name, entry_columns(entry), description=description, where=where)


# Parsing -----------------------------------------------------------------------------------------------------


def _money(value: Any, name: str) -> Decimal:
    amount = _decimal(value, name)
    if amount < 0:
        raise BadRow("negative_cost" if name == "spend" else "negative_metric", f"{name} ({value})")
    if amount >= _MONEY_LIMIT:
        raise BadRow("out_of_range", f"{name} ({value})")
    return amount.quantize(_MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


def typed(value: Any, info: FieldInfo, name: str) -> Any:
    """A Graph value (a numeric string) as its column's type; None stays None."""
    if value is None:
        return None
    if info.kind in DIMENSION_KINDS:
        return value if isinstance(value, str) else str(value)
    if info.money:
        return _money(value, name)
    number = _decimal(value, name)
    if number < 0:
        raise BadRow("negative_metric", f"{name} ({value})")
    if info.kind == "count":
        if number != number.to_integral_value():
            raise BadRow("unparsable", f"{name} ({value!r}): not a whole number")
        if number >= 2**63:
            raise BadRow("out_of_range", f"{name} ({value})")
        return int(number)
    return float(number)


def _missing(info: FieldInfo) -> Any:
    """A metric Graph leaves out of a row: 0 when it adds up (nothing happened), else unknown."""
    if not info.additive:
        return None
    return Decimal(0).quantize(_MONEY_QUANTUM) if info.money else 0 if info.kind == "count" else 0.0


def _dimension(raw: Mapping[str, Any], name: str, info: FieldInfo | None) -> str | None:
    if info is not None and info.kind == "id":
        return _identifier(raw, name)
    value = raw.get(name)
    if info is None:  # a breakdown: its value is the row's key
        if not isinstance(value, str) or not value.strip():
            raise BadRow("missing_value", f"breakdown {name} ({value!r})")
        return value
    return value if isinstance(value, str) else None


def parse_entry_row(raw: Any, account: Account, entry: Entry, since: dt.date, until: dt.date) -> list[dict[str, Any]]:
    """One Graph row of an entry's report as records: one (scalar stream), or one per action key (list stream).

    Raises:
        BadRow: the reason the whole row must go to quarantine instead.
    """
    if not isinstance(raw, Mapping):
        raise BadRow("malformed", f"row is not a JSON object ({type(raw).__name__})")
    day = _day(raw, since, until)
    _check_account(raw, account)
    base: dict[str, Any] = {
        "date": day,
        "account_id": account.id,
        "account_currency": account.currency or (raw.get("account_currency") or None),
    }
    if entry.level_id is not None:
        base[entry.level_id] = _identifier(raw, entry.level_id)
    for name in entry.fields:
        info = FIELDS[name]
        if info.kind in DIMENSION_KINDS:
            base[name] = _dimension(raw, name, info)
    for name in entry.breakdowns:
        base[name] = _dimension(raw, name, None)
    if not entry.lists:
        for name in entry.fields:
            info = FIELDS[name]
            if info.kind not in DIMENSION_KINDS:
                value = typed(raw.get(name), info, name)
                base[column_name(name)] = _missing(info) if value is None else value
        return [base]
    return _exploded(raw, entry, base)


def _exploded(raw: Mapping[str, Any], entry: Entry, base: dict[str, Any]) -> list[dict[str, Any]]:
    keys = entry.request_action_breakdowns
    records: dict[tuple[str, ...], dict[str, Any]] = {}
    for name in entry.lists:
        info = FIELDS[name]
        seen: set[tuple[str, ...]] = set()
        for item in _action_list(raw, name) or ():
            action_type = item.get("action_type")
            if not isinstance(action_type, str) or not action_type.strip():
                raise BadRow("malformed", f"{name} entry without an action_type")
            key = (action_type, *(_action_key(item, k) for k in keys[1:]))
            if key in seen:
                raise BadRow("malformed", f"{name} lists {dict(zip(keys, key, strict=True))} twice")
            seen.add(key)
            record = records.setdefault(key, base | dict(zip(keys, key, strict=True)))
            record[column_name(name)] = typed(item.get("value"), info, f"{name}[{action_type}].value")
            for window in entry.action_attribution_windows:
                label = f"{name}[{action_type}].{window}"
                value = typed(item.get(window), info, label)
                record[window_column(name, window)] = _missing(info) if value is None else value
    # A list without an entry for a key another list has: Graph leaves zero entries out.
    for name in entry.lists:
        info = FIELDS[name]
        wanted = [column_name(name), *(window_column(name, w) for w in entry.action_attribution_windows)]
        for record in records.values():
            for column in wanted:
                record.setdefault(column, _missing(info))
    return list(records.values())


def _action_key(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if value is None or value == "":
        return UNKNOWN_ACTION_BREAKDOWN
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise BadRow("malformed", f"action breakdown {name} ({value!r})")
    return str(value)


def entry_format(entry: Entry, stream: CustomStream) -> RowFormat:
    """How the entry's rows become records (the kit's collector keys them by date and the dimensions)."""

    def parse(
        raw: Any, account: Account, _: ConversionRule, since: dt.date, until: dt.date, __: Sequence[str]
    ) -> list[dict[str, Any]]:
        return parse_entry_row(raw, account, entry, since, until)

    grain = tuple(c.name for c in stream.columns if c.role == "dimension")
    query = entry_query(entry)
    return RowFormat(stream.table, parse, grain, frozenset(query.fields) | frozenset(entry.breakdowns))


class CustomReportRunner(ReportRunner):
    """The built-in report runs (async, polled, split, retried) with an entry's attribution windows and
    action report time."""

    def __init__(self, client: GraphClient, settings: MetaAdsSettings, account_id: str, entry: Entry, **kw: Any):
        super().__init__(client, settings, account_id, query=entry_query(entry), **kw)
        self.entry = entry

    def start(self, since: dt.date, until: dt.date) -> str:
        what = f"account {self.account_id} custom insights {self.entry.name} run {since}..{until}"
        params = insights_params(self.query, since, until, self.entry.action_attribution_windows)
        if self.entry.action_report_time:
            params["action_report_time"] = self.entry.action_report_time
        answer = self.client.post((f"act_{self.account_id}", "insights"), params, what=f"{what}: start")
        run_id = answer.get("report_run_id")
        if not isinstance(run_id, str | int) or not (str(run_id).isascii() and str(run_id).isdigit()):
            raise MetaAdsRetryableError(f"Meta Ads {what}: the answer carries no report_run_id")
        self.runs += 1
        return str(run_id)


# Passthrough fields --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Passthrough:
    """A passthrough field on the ad insights rows: `field`, or `field:action_type` (one type of a list)."""

    field: str
    action_type: str | None
    column: CustomColumn


_ACTION_TYPE = re.compile(r"[A-Za-z0-9_.\-]+", re.ASCII)


def passthrough(source: object, connector: str) -> Passthrough:
    """A passthrough field checked against the insights fields of level ad.

    Raises:
        ConfigError: "invalid configuration: metrics: ..." naming the field.
    """

    def refuse(why: str) -> ConfigError:
        return ConfigError(f"invalid configuration: metrics: the {connector} connector's field {source!r}: {why}")

    if not isinstance(source, str):
        raise refuse("expected text such as 'reach' or 'actions:video_view'")
    field, sep, action_type = source.partition(":")
    try:
        name = check_field(field, INSIGHTS_LEVEL, ())
    except ValueError as error:
        raise refuse(str(error)) from None
    info = FIELDS[name]
    if info.kind in DIMENSION_KINDS:
        raise refuse(f"{name!r} is a dimension, not a metric")
    if sep:
        if info.kind not in LIST_KINDS:
            raise refuse(f"{name!r} is not a list of actions; ':{action_type}' applies to list fields only")
        if not _ACTION_TYPE.fullmatch(action_type):
            odd = first_non_ascii(action_type)
            raise refuse(f"{action_type!r} is not an action type" + (f" (ASCII only: {odd})" if odd else ""))
    elif info.kind == "ratio_list" or (info.kind in LIST_KINDS and not info.additive):
        raise refuse(f"the values of {name!r} are ratios or deduplicated: name one action type ({name}:TYPE)")
    additive = info.additive
    doc = f"passthrough of Meta insights {source}" + ("" if additive else "; not additive: never sum it")
    column = kit_passthrough_column(source, info.arrow_type, money=info.money, doc=doc)
    column = CustomColumn(column.source, column.type, "metric", column.doc, column.name, column.money, additive)
    return Passthrough(name, action_type or None, column)


def passthrough_value(raw: Mapping[str, Any], item: Passthrough) -> Any:
    """A passthrough column's value in one ad insights row (a list summed, or one action type's value).

    Raises:
        BadRow: the value is malformed.
    """
    info = FIELDS[item.field]
    if info.kind not in LIST_KINDS:
        value = typed(raw.get(item.field), info, item.field)
        return _missing(info) if value is None else value
    entries = _action_list(raw, item.field) or []
    values = [
        typed(e.get("value"), info, f"{item.field}[{e.get('action_type')}].value")
        for e in entries
        if item.action_type is None or e.get("action_type") == item.action_type
    ]
    present = [v for v in values if v is not None]
    if not present:
        return _missing(info)
    return sum(present[1:], present[0])


def with_passthrough(
    parse: Callable[..., list[dict[str, Any]]], items: Sequence[Passthrough]
) -> Callable[..., list[dict[str, Any]]]:
    """A row parser that adds the passthrough columns to what `parse` gives for the same row."""

    def parse_with(raw: Any, *args: Any) -> list[dict[str, Any]]:
        records = parse(raw, *args)
        extra = {item.column.name: passthrough_value(raw, item) for item in items}
        return [record | extra for record in records]

    return parse_with


def check_name(value: str) -> str:
    if not re.fullmatch(CUSTOM_NAME_PATTERN, value, re.ASCII):
        odd = first_non_ascii(value)
        raise ValueError(
            f"{value!r} must be lower_snake_case, 1-40 characters" + (f" (ASCII only: {odd})" if odd else "")
        )
    return value
