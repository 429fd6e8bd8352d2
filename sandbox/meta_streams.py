"""The Meta sandbox's breakdowns, attribution windows and entity state: what the Graph sandbox serves beside
ad-level insights, derived from the same truth so that every stream agrees with ad_insights.

- Breakdowns split each ad's DailyRecord exactly (sandbox.segments.split_record): a campaign's segments of a day
  add up to its ads' impressions, clicks, spend, actions and values. Regions nest inside countries. Reach is
  split too, although the real API's reach does not add up across segments.
- Attribution windows are derived per row and action type: 7d_click + 1d_view = `value` (the default setting),
  1d_click <= 7d_click <= 28d_click.
- Entities are named, paused and budgeted as sandbox.history says on the "as of" date.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sandbox import dynamics, history
from sandbox.data import META, Account, AccountStructure, Ad, DailyRecord, SyntheticData, money_unit_micros
from sandbox.hashing import rng_for, stable_hash
from sandbox.segments import split_integer, split_record

# The insights `breakdowns` enum (https://developers.facebook.com/docs/marketing-api/insights/breakdowns).
BREAKDOWNS = frozenset(
    {
        "age",
        "gender",
        "country",
        "region",
        "dma",
        "impression_device",
        "device_platform",
        "publisher_platform",
        "platform_position",
        "product_id",
        "frequency_value",
        "hourly_stats_aggregated_by_advertiser_time_zone",
        "hourly_stats_aggregated_by_audience_time_zone",
        "place_page_id",
        "user_segment_key",
    }
)
ACTION_BREAKDOWNS = frozenset(
    {
        "action_type",
        "action_device",
        "action_destination",
        "action_target_id",
        "action_reaction",
        "action_video_sound",
        "action_video_type",
        "action_carousel_card_id",
        "action_carousel_card_name",
        "action_canvas_component_name",
        "action_converted_product_id",
    }
)
# Combinations Graph accepts (with the default action_breakdowns=action_type); anything else is
# "(#100) Current combination of data breakdown columns (...) is invalid" (country with region included).
VALID_COMBINATIONS = frozenset(
    frozenset(c)
    for c in (
        (),
        ("age",),
        ("gender",),
        ("age", "gender"),
        ("country",),
        ("region",),
        ("dma",),
        ("impression_device",),
        ("device_platform",),
        ("publisher_platform",),
        ("publisher_platform", "platform_position"),
        ("publisher_platform", "device_platform"),
        ("publisher_platform", "impression_device"),
        ("publisher_platform", "platform_position", "device_platform"),
        ("publisher_platform", "platform_position", "impression_device"),
        ("product_id",),
        ("frequency_value",),
        ("hourly_stats_aggregated_by_advertiser_time_zone",),
        ("hourly_stats_aggregated_by_audience_time_zone",),
    )
)
# What the sandbox can split a record by: breakdown -> its family (one finest split per family).
FAMILIES = {
    "country": "geo",
    "region": "geo",
    "age": "demographics",
    "gender": "demographics",
    "publisher_platform": "placement",
    "platform_position": "placement",
    "device_platform": "device",
}
# `action_attribution_windows` values Graph accepts; 7d_view and 28d_view are accepted but no longer
# returned (since 2026-01-12), like the other variants the sandbox does not model.
ATTRIBUTION_WINDOW_VALUES = frozenset(
    {
        "1d_view",
        "7d_view",
        "28d_view",
        "1d_click",
        "7d_click",
        "28d_click",
        "1d_ev",
        "dda",
        "default",
        "7d_view_first_conversion",
        "28d_view_first_conversion",
        "7d_view_all_conversions",
        "28d_view_all_conversions",
        "skan_view",
        "skan_click",
        "incrementality",
    }
)

_COUNTRIES_BY_TIME_ZONE = {
    "Europe/Paris": ("FR", "BE", "CH", "LU"),
    "America/New_York": ("US", "CA"),
    "Europe/London": ("GB", "IE"),
    "Europe/Berlin": ("DE", "AT", "CH"),
    "America/Los_Angeles": ("US", "CA", "MX"),
    "Europe/Stockholm": ("SE", "NO", "DK", "FI"),
    "Europe/Zurich": ("CH", "DE", "AT"),
    "Australia/Sydney": ("AU", "NZ"),
}
REGIONS = {
    "FR": ("Île-de-France", "Auvergne-Rhône-Alpes", "Provence-Alpes-Côte d'Azur", "Occitanie", "Hauts-de-France"),
    "BE": ("Brussels", "Flanders", "Wallonia"),
    "CH": ("Zurich", "Geneva", "Vaud", "Bern"),
    "LU": ("Luxembourg",),
    "US": ("California", "New York", "Texas", "Florida", "Illinois", "Washington"),
    "CA": ("Ontario", "Quebec", "British Columbia"),
    "MX": ("Mexico City", "Jalisco"),
    "GB": ("England", "Scotland", "Wales", "Northern Ireland"),
    "IE": ("Dublin", "Cork"),
    "DE": ("Bavaria", "Berlin", "North Rhine-Westphalia", "Baden-Württemberg", "Hamburg"),
    "AT": ("Vienna", "Upper Austria", "Styria"),
    "SE": ("Stockholm County", "Västra Götaland County", "Skåne County"),
    "NO": ("Oslo", "Viken"),
    "DK": ("Capital Region of Denmark", "Central Denmark Region"),
    "FI": ("Uusimaa", "Pirkanmaa"),
    "AU": ("New South Wales", "Victoria", "Queensland", "Western Australia"),
    "NZ": ("Auckland", "Wellington", "Canterbury"),
}
PLACEMENTS: tuple[tuple[str, str], ...] = (
    ("facebook", "feed"),
    ("instagram", "feed"),
    ("instagram", "instagram_stories"),
    ("facebook", "facebook_reels"),
    ("instagram", "instagram_reels"),
    ("facebook", "facebook_stories"),
    ("audience_network", "an_classic"),
    ("facebook", "marketplace"),
    ("facebook", "right_hand_column"),
    ("instagram", "instagram_explore"),
    ("messenger", "messenger_inbox"),
    ("facebook", "video_feeds"),
    ("audience_network", "rewarded_video"),
    ("messenger", "messenger_stories"),
)
DEVICES = ("mobile_app", "mobile_web", "desktop")
AGES = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("female", "male", "unknown")
_AGE_SHAPE = (0.8, 1.3, 1.1, 0.8, 0.5, 0.3)
_GENDER_SHAPE = (1.0, 0.85, 0.05)

Dims = dict[str, str]


def countries(account: Account) -> tuple[str, ...]:
    """The countries an account's ads reach (its market first)."""
    return _COUNTRIES_BY_TIME_ZONE.get(account.time_zone, ("US",))


def check_breakdowns(breakdowns: Sequence[str], action_breakdowns: Sequence[str]) -> str | None:
    """Why Graph (or the sandbox) refuses these breakdowns, or None."""
    for index, name in enumerate(breakdowns):
        if name not in BREAKDOWNS:
            return f"breakdowns[{index}] must be one of the following values: {', '.join(sorted(BREAKDOWNS))}"
    for index, name in enumerate(action_breakdowns):
        if name not in ACTION_BREAKDOWNS:
            values = ", ".join(sorted(ACTION_BREAKDOWNS))
            return f"action_breakdowns[{index}] must be one of the following values: {values}"
    if frozenset(breakdowns) not in VALID_COMBINATIONS or len(set(breakdowns)) != len(breakdowns):
        columns = ", ".join([*action_breakdowns, *breakdowns])
        return f"Current combination of data breakdown columns ({columns}) is invalid"
    if any(name not in FAMILIES for name in breakdowns) or len({FAMILIES[b] for b in breakdowns}) > 1:
        return f"breakdowns {list(breakdowns)} are valid but not modelled by the sandbox"
    if any(name not in MODELLED_ACTION_BREAKDOWNS for name in action_breakdowns):
        return f"action_breakdowns {list(action_breakdowns)} are valid but not modelled by the sandbox"
    return None


def split(
    seed: int, account: Account, record: DailyRecord, breakdowns: Sequence[str]
) -> list[tuple[Dims, DailyRecord]]:
    """`record` split across the segments of the breakdowns' family, each part with its segment's values
    (the finest split: callers group the parts by the breakdowns they asked for)."""
    family = FAMILIES[breakdowns[0]]
    key = (seed, family, record.ad_id or record.campaign_id, record.day.isoformat())
    unit = money_unit_micros(account.currency)
    if family == "geo":
        out: list[tuple[Dims, DailyRecord]] = []
        names = countries(account)
        for country, part in zip(names, _split(record, _weights(len(names), 0.35, *key), unit), strict=True):
            regions = REGIONS.get(country, ("Unknown",))
            parts = _split(part, _weights(len(regions), 0.6, *key, country), unit)
            out += [({"country": country, "region": r}, p) for r, p in zip(regions, parts, strict=True)]
        return out
    if family == "demographics":
        rng = rng_for("segments", *key)
        labels = [(a, g) for a in AGES for g in GENDERS]
        weights = [
            _AGE_SHAPE[i] * _GENDER_SHAPE[j] * rng.uniform(0.8, 1.2)
            for i in range(len(AGES))
            for j in range(len(GENDERS))
        ]
        parts = _split(record, weights, unit)
        return [({"age": a, "gender": g}, p) for (a, g), p in zip(labels, parts, strict=True)]
    if family == "placement":
        parts = _split(record, _weights(len(PLACEMENTS), 0.72, *key), unit)
        return [
            ({"publisher_platform": pub, "platform_position": pos}, p)
            for (pub, pos), p in zip(PLACEMENTS, parts, strict=True)
        ]
    parts = _split(record, _weights(len(DEVICES), 0.3, *key), unit)
    return [({"device_platform": d}, p) for d, p in zip(DEVICES, parts, strict=True)]


def _split(record: DailyRecord, weights: Sequence[float], unit: int) -> list[DailyRecord]:
    """split_record, with each action type's value following its count (no value without a purchase); money in
    whole `unit`s of micros (the currency's minor unit)."""
    parts = split_record(record, weights, unit)
    counts = {t: [dict(p.actions).get(t, 0) for p in parts] for t, _ in record.action_value_micros}
    values = {
        t: [minor * unit for minor in split_integer(micros // unit, counts[t])]
        for t, micros in record.action_value_micros
    }
    return [
        replace(p, action_value_micros=tuple((t, v[i]) for t, v in values.items() if v[i] > 0))
        for i, p in enumerate(parts)
    ]


def _weights(n: int, spread: float, *key: object) -> list[float]:
    rng = rng_for("segments", *key)
    return [spread**i * rng.uniform(0.8, 1.2) for i in range(n)]


def window_counts(seed: int, count: int, *key: object) -> dict[str, int]:
    """An action count (the default setting, 7-day click + 1-day view) by attribution window."""
    rng = rng_for(seed, "attribution", *key)
    click_7d = round(count * rng.uniform(0.7, 0.92))
    view_1d = count - click_7d
    return {
        "1d_click": round(click_7d * rng.uniform(0.55, 0.9)),
        "7d_click": click_7d,
        "28d_click": click_7d + round(click_7d * rng.uniform(0.0, 0.12)),
        "1d_view": view_1d,
        "1d_ev": round(view_1d * rng.uniform(0.0, 0.3)),
        "dda": count,
    }


def add_windows(
    values: dict[str, Any],
    windows: Sequence[str],
    seed: int,
    key: Sequence[object],
    value_micros: Mapping[str, int],
    money: Callable[[int], str],
) -> None:
    """Add the requested windows to each `actions` / `action_values` entry of one insights row; a window's
    value is the type's value in proportion to the window's count."""
    counts: dict[str, tuple[int, dict[str, int]]] = {}
    for entry in values.get("actions", []):
        count = int(entry["value"])
        counts[entry["action_type"]] = (count, shares := window_counts(seed, count, *key, entry["action_type"]))
        entry.update({w: str(shares[w]) for w in windows if w in shares})
    for entry in values.get("action_values", []):
        micros = value_micros[entry["action_type"]]
        count, shares = counts.get(entry["action_type"], (0, {}))
        for window in windows:
            if window in shares:
                entry[window] = money(round(micros * shares[window] / count / 10_000) * 10_000 if count else 0)


def entity_name(seed: int, entity_id: str, base_name: str, day: date) -> str:
    return history.state(seed, entity_id, base_name, day, can_pause=False).name


def _graph_time(day: date, hour: int = 9) -> str:
    return datetime.combine(day, time(hour)).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _created(seed: int, entity_id: str) -> date:
    return date(2024, 1, 1) + timedelta(days=stable_hash(seed, "created", entity_id) % 300)


def _changed(seed: int, entity_id: str, as_of: date) -> date:
    """The first day of the entity's version on `as_of` (its last change), not before its creation."""
    current = history.version(seed, entity_id, as_of)
    day = as_of
    while day > _created(seed, entity_id) and history.version(seed, entity_id, day - timedelta(days=1)) == current:
        day -= timedelta(days=1)
    return day


def creative_id(seed: int, ad_id: str) -> str:
    return str(10**17 + stable_hash(seed, "creative", ad_id) % (9 * 10**17))


def adset_daily_budget(seed: int, adset_id: str, as_of: date) -> int:
    """The ad set's daily budget on `as_of` in minor units (cents): a base stepping with its history."""
    units = 40 + 10 * (stable_hash(seed, "budget", adset_id) % 20)
    return round(units * 100 * history.budget_factor(seed, adset_id, as_of))


def _campaign_budget(seed: int, campaign_id: str) -> int:
    return 100 * (3_000 + 500 * (stable_hash(seed, "lifetime", campaign_id) % 10))


def _uses_campaign_budget(objective: str) -> bool:
    return dynamics.uses_campaign_budget(META, objective)


_OPTIMIZATION = {"OUTCOME_SALES": "OFFSITE_CONVERSIONS", "OUTCOME_LEADS": "LEAD_GENERATION"}


def _effective_status(own: str, campaign: str, running: str = "ACTIVE") -> str:
    """Graph's effective_status of an ad set or ad: its own PAUSED first, then its campaign's."""
    if own == "PAUSED":
        return own
    return "CAMPAIGN_PAUSED" if campaign == "PAUSED" else running


def edge_items(data: SyntheticData, structure: AccountStructure, edge: str, as_of: date) -> list[dict[str, Any]]:
    """The items of an account edge (campaigns, adsets, ads, adcreatives) as Graph returns them on `as_of`:
    every field the sandbox knows, unset ones left out. A campaign paused by sandbox.dynamics is PAUSED, its
    ad sets and ads CAMPAIGN_PAUSED; the mid-month campaign starts on its start day."""
    seed = data.seed
    account = structure.account
    campaigns = structure.campaign_by_id
    status = {
        c.campaign_id: data.campaign_status(META, account.account_id, c.campaign_id, as_of) for c in structure.campaigns
    }
    items: list[dict[str, Any]] = []
    if edge == "campaigns":
        for c in structure.campaigns:
            created = _created(seed, c.campaign_id)
            start = dynamics.campaign_start(data, META, account.account_id, c.campaign_id, as_of)
            item: dict[str, Any] = {
                "id": c.campaign_id,
                "account_id": account.account_id,
                "name": entity_name(seed, c.campaign_id, c.name, as_of),
                "status": status[c.campaign_id],
                "effective_status": status[c.campaign_id],
                "objective": c.channel_type,
                "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
                "start_time": _graph_time(start or created, 10),
                "created_time": _graph_time(created),
                "updated_time": _graph_time(_changed(seed, c.campaign_id, as_of)),
            }
            if _uses_campaign_budget(c.channel_type):
                item["lifetime_budget"] = str(_campaign_budget(seed, c.campaign_id))
                item["stop_time"] = _graph_time(created + timedelta(days=730), 23)
            items.append(item)
    elif edge == "adsets":
        for g in structure.ad_groups:
            campaign = campaigns[g.campaign_id]
            created = _created(seed, g.ad_group_id)
            item = {
                "id": g.ad_group_id,
                "account_id": account.account_id,
                "name": entity_name(seed, g.ad_group_id, g.name, as_of),
                "campaign_id": g.campaign_id,
                "status": g.status,
                "effective_status": _effective_status(g.status, status[g.campaign_id], g.status),
                "optimization_goal": _OPTIMIZATION.get(campaign.channel_type, "LINK_CLICKS"),
                "billing_event": "IMPRESSIONS",
                "targeting": {
                    "geo_locations": {"countries": list(countries(account)), "location_types": ["home", "recent"]},
                    "age_min": 18,
                    "age_max": 65,
                },
                "created_time": _graph_time(created),
                "updated_time": _graph_time(_changed(seed, g.ad_group_id, as_of)),
            }
            if not _uses_campaign_budget(campaign.channel_type):
                item["daily_budget"] = str(adset_daily_budget(seed, g.ad_group_id, as_of))
            items.append(item)
    elif edge == "ads":
        for a in structure.ads:
            paused = history.state(seed, a.ad_id, a.name, as_of).paused
            items.append(
                {
                    "id": a.ad_id,
                    "account_id": account.account_id,
                    "name": entity_name(seed, a.ad_id, a.name, as_of),
                    "adset_id": a.ad_group_id,
                    "campaign_id": a.campaign_id,
                    "status": "PAUSED" if paused else "ACTIVE",
                    "effective_status": _effective_status("PAUSED" if paused else "ACTIVE", status[a.campaign_id]),
                    "creative": {"id": creative_id(seed, a.ad_id)},
                    "created_time": _graph_time(_created(seed, a.ad_id)),
                    "updated_time": _graph_time(_changed(seed, a.ad_id, as_of)),
                }
            )
    elif edge == "adcreatives":
        items = [_creative(seed, account, campaigns[a.campaign_id].name, a) for a in structure.ads]
    else:
        raise KeyError(edge)
    return items


URL_TAGS = "utm_source=facebook&utm_medium=paid_social&utm_campaign={{campaign.name}}&utm_content={{ad.name}}"


def landing_page(account: Account, campaign_name: str) -> str:
    shop = re.sub(r"[^a-z0-9]+", "-", account.name.lower()).strip("-")
    path = re.sub(r"[^a-z0-9]+", "-", campaign_name.split(" | ")[0].lower()).strip("-")
    return f"https://shop.{shop}.example/{path}"


def _creative(seed: int, account: Account, campaign_name: str, ad: Ad) -> dict[str, Any]:
    link = landing_page(account, campaign_name)
    title = f"{campaign_name.split(' | ')[0]}: new season"
    body = f"{account.name}: free delivery over 50 {account.currency}"
    video = ad.name.startswith("Video")
    item: dict[str, Any] = {
        "id": creative_id(seed, ad.ad_id),
        "account_id": account.account_id,
        "name": f"{ad.name} - {campaign_name}",
        "object_type": "VIDEO" if video else "SHARE",
        "url_tags": URL_TAGS,
    }
    if video or campaign_name.startswith("Catalog"):
        # Advantage+ (dynamic) creatives: texts and links live in the asset feed.
        item["asset_feed_spec"] = {
            "link_urls": [{"website_url": link, "display_url": link.split("/")[2]}],
            "titles": [{"text": title}, {"text": "Shop the collection"}],
            "bodies": [{"text": body}],
            "call_to_action_types": ["SHOP_NOW"],
        }
    else:
        item["object_story_spec"] = {
            "page_id": str(10**14 + stable_hash(seed, "page", account.account_id) % 10**14),
            "link_data": {"link": link, "message": body, "name": title, "call_to_action": {"type": "SHOP_NOW"}},
        }
        item["title"] = title
        item["body"] = body
    return item


def pick(item: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The asked-for fields Graph has a value for, and always the id."""
    return {k: item[k] for k in fields if item.get(k) is not None} | {"id": item["id"]}


# Video watched actions and action breakdowns (custom insights) -------------------------------------------------
# Video views ride on a leaf record as extra `actions` entries named VIDEO_LAYER + band: the viewers who stopped
# in that band (watched 100%, 95-100%, 75-95% ...). Breakdown splits cut every band like any action type, and
# a quartile is the sum of the bands at or above it: so the parts of a breakdown add up to the ad's totals and
# p25 >= p50 >= p75 >= p95 >= p100 in every part.
VIDEO_LAYER = "sandbox_video_band:"
VIDEO_BANDS = ("p100", "p95", "p75", "p50", "p25", "play")  # deepest first
VIDEO_FIELDS = {
    "video_p100_watched_actions": "p100",
    "video_p95_watched_actions": "p95",
    "video_p75_watched_actions": "p75",
    "video_p50_watched_actions": "p50",
    "video_p25_watched_actions": "p25",
    "video_play_actions": "play",
}
VIDEO_ACTION_TYPE = "video_view"
MODELLED_ACTION_BREAKDOWNS = ("action_type", "action_device", "action_destination")
# Share of the previous band's viewers who watch on to the next one.
_VIDEO_RETENTION = (
    ("p25", (0.45, 0.7)),
    ("p50", (0.6, 0.8)),
    ("p75", (0.6, 0.8)),
    ("p95", (0.7, 0.9)),
    ("p100", (0.8, 0.95)),
)
ACTION_DEVICES = ("iphone", "android_smartphone", "desktop", "ipad", "android_tablet", "other")


def with_video(seed: int, record: DailyRecord, video_ad: bool) -> DailyRecord:
    """`record` with its video bands (whole people, from its impressions; video ads play more)."""
    rng = rng_for(seed, "video", record.ad_id or record.campaign_id, record.day.isoformat())
    plays = min(record.impressions, round(record.impressions * rng.uniform(0.15, 0.3) * (2.0 if video_ad else 1.0)))
    watched = {"play": plays}
    previous = plays
    for band, (low, high) in _VIDEO_RETENTION:
        previous = watched[band] = round(previous * rng.uniform(low, high))
    deeper = 0
    bands: list[tuple[str, int]] = []
    for band in VIDEO_BANDS:
        bands.append((VIDEO_LAYER + band, watched[band] - deeper))
        deeper = watched[band]
    return replace(record, actions=(*record.actions, *((t, n) for t, n in bands if n > 0)))


def without_video(actions: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(t, n) for t, n in actions if not t.startswith(VIDEO_LAYER)]


def _action_segments(
    seed: int, account: Account, record: DailyRecord, action_type: str, count: int, breakdowns: Sequence[str]
) -> list[tuple[tuple[str, ...], int]]:
    """`count` of one action type of one record cut by the action breakdowns other than action_type (device,
    then destination), each part with its values."""
    parts: list[tuple[tuple[str, ...], int]] = [((), count)]
    key = (seed, record.ad_id or record.campaign_id, record.day.isoformat(), record.impressions, action_type)
    for name in breakdowns:
        if name == "action_device":
            labels: Sequence[str] = ACTION_DEVICES
            spread = 0.55
        else:  # action_destination: the shop's site, or its mobile site
            host = landing_page(account, "shop").split("/")[2]
            labels = (host, f"m.{host}")
            spread = 0.7
        out: list[tuple[tuple[str, ...], int]] = []
        for dims, n in parts:
            weights = _weights(len(labels), spread, *key, name, *dims)
            out += [((*dims, label), m) for label, m in zip(labels, split_integer(n, weights), strict=True)]
        parts = out
    return parts


def action_lists(
    seed: int,
    account: Account,
    records: Sequence[DailyRecord],
    action_breakdowns: Sequence[str],
    fields: Sequence[str],
    money: Callable[[int], str],
) -> dict[str, list[dict[str, Any]]]:
    """The list fields of one insights row by `action_breakdowns` (action_type first): actions and
    action_values cut by device and destination, and the video fields (action type video_view)."""
    others = [b for b in action_breakdowns if b != "action_type"]
    unit = money_unit_micros(account.currency)
    counts: dict[tuple[str, ...], int] = {}
    values: dict[tuple[str, ...], int] = {}
    bands: dict[str, dict[tuple[str, ...], int]] = {band: {} for band in VIDEO_BANDS}
    for record in records:
        cut: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for action_type, count in record.actions:
            cut[action_type] = _action_segments(seed, account, record, action_type, count, others)
            if action_type.startswith(VIDEO_LAYER):
                band = bands[action_type.removeprefix(VIDEO_LAYER)]
                for dims, n in cut[action_type]:
                    band[(VIDEO_ACTION_TYPE, *dims)] = band.get((VIDEO_ACTION_TYPE, *dims), 0) + n
                continue
            for dims, n in cut[action_type]:
                counts[(action_type, *dims)] = counts.get((action_type, *dims), 0) + n
        for action_type, micros in record.action_value_micros:
            parts = cut.get(action_type) or [((), 0)]
            shares = split_integer(micros // unit, [n for _, n in parts] if any(n for _, n in parts) else [1])
            for (dims, _), minor in zip(parts, shares, strict=False):
                values[(action_type, *dims)] = values.get((action_type, *dims), 0) + minor * unit

    def entries(source: Mapping[tuple[str, ...], int], text: Callable[[int], str]) -> list[dict[str, Any]]:
        names = ("action_type", *others)
        return [dict(zip(names, key, strict=True)) | {"value": text(n)} for key, n in source.items() if n > 0]

    out: dict[str, list[dict[str, Any]]] = {}
    if "actions" in fields and counts:
        out["actions"] = entries(counts, str)
    if "action_values" in fields and values:
        out["action_values"] = entries(values, money)
    for field, band in VIDEO_FIELDS.items():
        if field not in fields:
            continue
        deeper = VIDEO_BANDS[: VIDEO_BANDS.index(band) + 1]
        total: dict[tuple[str, ...], int] = {}
        for name in deeper:
            for key, n in bands[name].items():
                total[key] = total.get(key, 0) + n
        if any(total.values()):
            out[field] = entries(total, str)
    return out


def add_entry_windows(
    lists: dict[str, list[dict[str, Any]]],
    windows: Sequence[str],
    seed: int,
    key: Sequence[object],
    money: Callable[[int], str],
) -> None:
    """The requested windows on every entry of `actions` and `action_values` cut by action breakdowns: an
    entry's counts by window from its own count, its value's in proportion."""
    shares: dict[tuple[str, ...], tuple[int, dict[str, int]]] = {}
    for entry in lists.get("actions", []):
        dims = tuple(str(v) for k, v in entry.items() if k != "value")
        count = int(entry["value"])
        shares[dims] = (count, by_window := window_counts(seed, count, *key, *dims))
        entry.update({w: str(by_window[w]) for w in windows if w in by_window})
    for entry in lists.get("action_values", []):
        dims = tuple(str(v) for k, v in entry.items() if k != "value")
        count, by_window = shares.get(dims, (0, {}))
        micros = round(float(entry["value"]) * 1_000_000)  # the sandbox's own amounts: whole minor units
        for window in windows:
            if window in by_window:
                entry[window] = money(round(micros * by_window[window] / count / 10_000) * 10_000 if count else 0)
