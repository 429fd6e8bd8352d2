"""The Google Ads field catalogue custom queries and passthrough fields are checked against, bundled as
`fields/<API version>.json` so that `mdp check` works offline.

Names, data types and enum values come from the installed google-ads client's GoogleAdsRow descriptors (the
API version the connector uses); which segments, metrics and attributed resources each supported resource
may be selected with is the `RESOURCE_RULES` below, taken from Google's field reference
(developers.google.com/google-ads/api/fields/<version>/<resource>), kept to the fields that reference lists.
Regenerate the file after an API version bump: `python -m connectors.google_ads.catalogue`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from connectors.google_ads.settings import API_VERSION, SERVICE_TYPES_MODULE, import_api_module

FIELDS_DIR = Path(__file__).with_name("fields")
_MAX_DEPTH = 4  # ad_group_criterion.keyword.text, segments.keyword.info.text: deeper fields are not offered

_DATE_SEGMENTS = ("date", "day_of_week", "week", "month", "quarter", "year")
_COMMON_SEGMENTS = (
    *_DATE_SEGMENTS,
    "hour",
    "device",
    "ad_network_type",
    "slot",
    "click_type",
    "conversion_action",
    "conversion_action_name",
    "conversion_action_category",
    "external_conversion_source",
)
# Segments that split conversions by action: selectable with conversion metrics only (Google's rule).
CONVERSION_SEGMENTS = frozenset(
    {
        "segments.conversion_action",
        "segments.conversion_action_name",
        "segments.conversion_action_category",
        "segments.external_conversion_source",
    }
)
CONVERSION_METRICS = frozenset(
    f"metrics.{name}"
    for name in (
        "conversions",
        "conversions_value",
        "all_conversions",
        "all_conversions_value",
        "conversions_by_conversion_date",
        "conversions_value_by_conversion_date",
        "all_conversions_by_conversion_date",
        "all_conversions_value_by_conversion_date",
        "value_per_conversion",
        "value_per_all_conversions",
    )
)
_BASE_METRICS = (
    "impressions",
    "clicks",
    "cost_micros",
    "ctr",
    "average_cpc",
    "average_cpm",
    "average_cost",
    "interactions",
    "interaction_rate",
    "engagements",
    "engagement_rate",
    "conversions",
    "conversions_value",
    "conversions_from_interactions_rate",
    "cost_per_conversion",
    "value_per_conversion",
    "conversions_value_per_cost",
    "all_conversions",
    "all_conversions_value",
    "all_conversions_from_interactions_rate",
    "cost_per_all_conversions",
    "value_per_all_conversions",
    "all_conversions_value_per_cost",
    "conversions_by_conversion_date",
    "conversions_value_by_conversion_date",
    "all_conversions_by_conversion_date",
    "all_conversions_value_by_conversion_date",
    "view_through_conversions",
    "cross_device_conversions",
    "cross_device_conversions_value",
    "cross_device_conversions_value_micros",
    "video_trueview_views",
    "video_trueview_view_rate",
    "video_quartile_p25_rate",
    "video_quartile_p50_rate",
    "video_quartile_p75_rate",
    "video_quartile_p100_rate",
    "active_view_impressions",
    "active_view_measurable_impressions",
    "active_view_viewability",
    "absolute_top_impression_percentage",
    "top_impression_percentage",
)
_SEARCH_SHARE_METRICS = (
    "search_impression_share",
    "search_budget_lost_impression_share",
    "search_rank_lost_impression_share",
    "search_top_impression_share",
    "search_absolute_top_impression_share",
)


@dataclass(frozen=True)
class ResourceRule:
    """What may be selected with a resource in FROM: fields of the attributed resources, and these segments
    and metrics (names without their `segments.` / `metrics.` prefix)."""

    attributed: tuple[str, ...]
    segments: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    # the fields whose values make a row of this resource unique (added to every custom query's key)
    key: tuple[str, ...] = ()


RESOURCE_RULES: dict[str, ResourceRule] = {
    "customer": ResourceRule((), _COMMON_SEGMENTS, (*_BASE_METRICS, *_SEARCH_SHARE_METRICS), ()),
    "campaign": ResourceRule(
        ("customer", "campaign_budget"),
        _COMMON_SEGMENTS,
        (*_BASE_METRICS, *_SEARCH_SHARE_METRICS, "content_impression_share"),
        ("campaign.id",),
    ),
    "ad_group": ResourceRule(
        ("customer", "campaign"),
        _COMMON_SEGMENTS,
        (*_BASE_METRICS, *_SEARCH_SHARE_METRICS, "content_impression_share"),
        ("ad_group.id",),
    ),
    "ad_group_ad": ResourceRule(
        ("customer", "campaign", "ad_group"), _COMMON_SEGMENTS, _BASE_METRICS, ("ad_group.id", "ad_group_ad.ad.id")
    ),
    "keyword_view": ResourceRule(
        ("customer", "campaign", "ad_group", "ad_group_criterion"),
        _COMMON_SEGMENTS,
        (*_BASE_METRICS, *_SEARCH_SHARE_METRICS),
        ("ad_group.id", "ad_group_criterion.criterion_id"),
    ),
    "search_term_view": ResourceRule(
        ("customer", "campaign", "ad_group"),
        (
            *_COMMON_SEGMENTS,
            "keyword.ad_group_criterion",
            "keyword.info.text",
            "keyword.info.match_type",
            "search_term_match_type",
        ),
        _BASE_METRICS,
        ("ad_group.id", "search_term_view.search_term"),
    ),
    "geographic_view": ResourceRule(
        ("customer", "campaign"),
        (
            *_COMMON_SEGMENTS,
            "geo_target_region",
            "geo_target_city",
            "geo_target_metro",
            "geo_target_most_specific_location",
        ),
        _BASE_METRICS,
        ("campaign.id", "geographic_view.country_criterion_id", "geographic_view.location_type"),
    ),
    "campaign_budget": ResourceRule(
        ("customer",),
        (*_DATE_SEGMENTS, "device", "ad_network_type"),
        (
            "impressions",
            "clicks",
            "cost_micros",
            "ctr",
            "average_cpc",
            "conversions",
            "conversions_value",
            "all_conversions",
            "all_conversions_value",
            "video_trueview_views",
        ),
        ("campaign_budget.id",),
    ),
    # No metrics or segments: a conversion_action query is a snapshot of the account's actions.
    "conversion_action": ResourceRule(("customer",), (), (), ("conversion_action.id",)),
}

_SCALAR_TYPES = {
    FieldDescriptor.TYPE_DOUBLE: "DOUBLE",
    FieldDescriptor.TYPE_FLOAT: "FLOAT",
    FieldDescriptor.TYPE_INT64: "INT64",
    FieldDescriptor.TYPE_UINT64: "UINT64",
    FieldDescriptor.TYPE_INT32: "INT32",
    FieldDescriptor.TYPE_UINT32: "UINT32",
    FieldDescriptor.TYPE_SINT64: "INT64",
    FieldDescriptor.TYPE_SINT32: "INT32",
    FieldDescriptor.TYPE_FIXED64: "UINT64",
    FieldDescriptor.TYPE_FIXED32: "UINT32",
    FieldDescriptor.TYPE_BOOL: "BOOLEAN",
    FieldDescriptor.TYPE_STRING: "STRING",
    FieldDescriptor.TYPE_BYTES: "BYTES",
    FieldDescriptor.TYPE_ENUM: "ENUM",
    FieldDescriptor.TYPE_MESSAGE: "MESSAGE",
}
_DATE_NAMES = frozenset({"segments.date", "segments.week", "segments.month", "segments.quarter"})


@dataclass(frozen=True)
class FieldInfo:
    """One field of the catalogue, as GoogleAdsFieldService describes it."""

    name: str
    category: str  # RESOURCE, ATTRIBUTE, SEGMENT, METRIC
    data_type: str  # INT64, DOUBLE, BOOLEAN, STRING, ENUM, DATE, RESOURCE_NAME, MESSAGE, ...
    selectable: bool
    filterable: bool
    repeated: bool = False
    enum_values: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        """The resource a field belongs to: `campaign` for campaign.name, `metrics` for a metric."""
        return self.name.split(".", 1)[0]


@dataclass(frozen=True)
class Catalogue:
    """Fields by name and, per supported resource, what may be selected with it."""

    api_version: str
    fields: Mapping[str, FieldInfo]
    resources: Mapping[str, ResourceRule]

    def selectable_with(self, resource: str) -> frozenset[str]:
        """Every field name that may appear in SELECT or WHERE of a query FROM `resource`."""
        rule = self.resources[resource]
        owners = {resource, *rule.attributed}
        names = {n for n, f in self.fields.items() if f.category == "ATTRIBUTE" and f.resource in owners}
        names |= {f"segments.{s}" for s in rule.segments} | {f"metrics.{m}" for m in rule.metrics}
        return frozenset(names)


def _row_descriptor() -> Descriptor:
    module = import_api_module(SERVICE_TYPES_MODULE)
    descriptor: Descriptor = module.GoogleAdsRow.pb().DESCRIPTOR
    return descriptor


def _leaves(prefix: str, message: Descriptor, depth: int) -> Iterator[tuple[str, FieldDescriptor]]:
    for item in message.fields:
        name = f"{prefix}.{item.name.removesuffix('_') if item.name.endswith('_') else item.name}"
        singular_message = item.type == FieldDescriptor.TYPE_MESSAGE and not item.is_repeated
        if singular_message and depth < _MAX_DEPTH:
            yield from _leaves(name, item.message_type, depth + 1)
        elif not singular_message:
            yield name, item


def _field_info(name: str, category: str, item: FieldDescriptor) -> dict[str, Any]:
    data_type = _SCALAR_TYPES.get(item.type, "MESSAGE")
    if name in _DATE_NAMES or (data_type == "STRING" and name.endswith((".start_date", ".end_date"))):
        data_type = "DATE"
    elif data_type == "STRING" and name.endswith(".resource_name"):
        data_type = "RESOURCE_NAME"
    info: dict[str, Any] = {
        "category": category,
        "data_type": data_type,
        "selectable": data_type != "MESSAGE",
        "filterable": data_type not in ("MESSAGE", "BYTES"),
        "repeated": bool(item.is_repeated),
    }
    if item.enum_type is not None:
        info["enum_values"] = [v.name for v in item.enum_type.values if v.name != "UNSPECIFIED"]
    return info


def build_catalogue() -> dict[str, Any]:
    """The catalogue as JSON data, from the installed client's descriptors and RESOURCE_RULES."""
    row = _row_descriptor()
    owners = sorted({*RESOURCE_RULES, *(a for r in RESOURCE_RULES.values() for a in r.attributed)})
    fields: dict[str, dict[str, Any]] = {}
    for resource in owners:
        fields[resource] = {"category": "RESOURCE", "data_type": "MESSAGE", "selectable": False, "filterable": False}
        for name, item in _leaves(resource, row.fields_by_name[resource].message_type, 1):
            fields[name] = _field_info(name, "ATTRIBUTE", item)
    for group, category in (("segments", "SEGMENT"), ("metrics", "METRIC")):
        for name, item in _leaves(group, row.fields_by_name[group].message_type, 1):
            fields[name] = _field_info(name, category, item)
    resources: dict[str, dict[str, Any]] = {}
    for resource, rule in RESOURCE_RULES.items():
        for kind, names in (("segments", rule.segments), ("metrics", rule.metrics)):
            missing = [n for n in names if f"{kind}.{n}" not in fields]
            if missing:
                raise ValueError(f"RESOURCE_RULES[{resource!r}] names {kind} the {API_VERSION} client lacks: {missing}")
        resources[resource] = {
            "attributed_resources": list(rule.attributed),
            "segments": [f"segments.{s}" for s in rule.segments],
            "metrics": [f"metrics.{m}" for m in rule.metrics],
            "key": list(rule.key),
        }
    return {
        "api_version": API_VERSION,
        "generated_by": "python -m connectors.google_ads.catalogue",
        "resources": resources,
        "fields": dict(sorted(fields.items())),
    }


def catalogue_path(version: str = API_VERSION) -> Path:
    return FIELDS_DIR / f"{version}.json"


def write_catalogue(path: Path | None = None, data: Mapping[str, Any] | None = None) -> Path:
    """Write the bundled catalogue (regenerated from the installed client unless `data` is given)."""
    target = path or catalogue_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data or build_catalogue(), indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return target


def parse_catalogue(data: Mapping[str, Any]) -> Catalogue:
    fields = {
        name: FieldInfo(
            name,
            info["category"],
            info["data_type"],
            bool(info["selectable"]),
            bool(info["filterable"]),
            bool(info.get("repeated", False)),
            tuple(info.get("enum_values", ())),
        )
        for name, info in data["fields"].items()
    }
    resources = {
        name: ResourceRule(
            tuple(rule["attributed_resources"]),
            tuple(s.removeprefix("segments.") for s in rule["segments"]),
            tuple(m.removeprefix("metrics.") for m in rule["metrics"]),
            tuple(rule.get("key", ())),
        )
        for name, rule in data["resources"].items()
    }
    return Catalogue(str(data["api_version"]), fields, resources)


@cache
def load_catalogue(version: str = API_VERSION) -> Catalogue:
    """The bundled catalogue of `version` (what `mdp check` and the connector validate against)."""
    return parse_catalogue(json.loads(catalogue_path(version).read_text(encoding="utf-8")))


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO)
    logging.getLogger(__name__).info("wrote %s", write_catalogue())
