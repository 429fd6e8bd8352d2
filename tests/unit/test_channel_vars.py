"""The dbt channel vars built from the registered connector types, and the one-line errors of a bad mapping."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator, Mapping
from typing import ClassVar

import pyarrow as pa
import pytest

from connectors import registry
from connectors.base import Account, Connector, Extracted
from flows.channel_vars import REPORT_UNIONS, channel_vars
from mdp.errors import ConfigError
from mdp.schema import TableSpec


class TinyConnector(Connector):
    """A plug-in-shaped connector whose ad performance model is a built-in one (the vars only name models)."""

    type_name = "tiny_ads"
    table = TableSpec(
        "raw_tiny_ads.ad_performance",
        pa.schema([pa.field("account_id", pa.string(), False), pa.field("date", pa.date32(), False)]),
        "account_id",
        "date",
    )
    dbt_models: ClassVar[Mapping[str, str]] = {
        "ad_performance": "stg_google_ads__ad_performance",
        "device": "stg_meta_ads__device_insights",
    }
    dbt_field_overrides: ClassVar[Mapping[str, Mapping[str, str]]] = {"device": {"device_detail": "null"}}

    def list_accounts(self) -> list[Account]:
        return []

    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        yield from ()


def variant(**attributes: object) -> type[TinyConnector]:
    return type("BadConnector", (TinyConnector,), dict(attributes))


@pytest.fixture
def register(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.BUILT_IN, "tiny_ads", f"{__name__}:TinyConnector")


def test_built_in_channels_feed_every_union() -> None:
    values = channel_vars(["google_ads", "meta_ads"])
    assert values["ad_performance_channels"] == {
        "google_ads": "stg_google_ads__ad_performance",
        "meta_ads": "stg_meta_ads__ad_insights",
    }
    reports = values["report_channels"]
    assert list(reports) == list(REPORT_UNIONS)
    assert reports["keyword"] == {"google_ads": "stg_google_ads__keyword_performance"}
    assert reports["platform"] == {"meta_ads": "stg_meta_ads__platform_insights"}
    assert reports["ad_snapshot"]["meta_ads"] == "int_meta_ads__ad_snapshot_urls"
    overrides = values["channel_field_overrides"]
    assert overrides["device"] == {
        "google_ads": {"device": "lower(device)", "device_detail": "device", "account_currency": "null"}
    }
    assert overrides["conversion_action"]["meta_ads"]["conversion_action_id"] == "action_type"


def test_every_registered_type_is_a_channel(register: None) -> None:
    values = channel_vars()
    assert list(values["ad_performance_channels"]) == list(registry.available_types())  # plug-ins included
    assert "tiny_ads" in values["ad_performance_channels"]
    assert values["report_channels"]["device"]["tiny_ads"] == "stg_meta_ads__device_insights"
    assert "tiny_ads" not in values["report_channels"]["keyword"]
    assert values["channel_field_overrides"]["device"]["tiny_ads"] == {"device_detail": "null"}


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            {"dbt_models": {"ad_performance": "stg_google_ads__ad_performance", "devices": "x"}},
            r"connector type 'tiny_ads' \(.*BadConnector\): dbt_models\['devices'\]: unknown union "
            r"\(did you mean 'device'\?\); unions: ad_performance, keyword",
        ),
        (
            {"dbt_models": {"ad_performance": "stg_tiny_ads__ad_performance"}},
            r"connector type 'tiny_ads' .*: dbt_models\['ad_performance'\]: no dbt model named "
            r"'stg_tiny_ads__ad_performance'",
        ),
        (
            {"type_name": "tiny"},
            r"connector type 'tiny_ads' .*: type_name is 'tiny'; the channel must be the registered type",
        ),
        (
            {"dbt_models": {}},
            r"connector type 'tiny_ads' .*: dbt_models has no 'ad_performance' key",
        ),
        (
            {"dbt_field_overrides": {"keyword": {"keyword_text": "null"}}},
            r"connector type 'tiny_ads' .*: dbt_field_overrides\['keyword'\]: the connector has no model",
        ),
        (
            {"dbt_field_overrides": {"device": {"device": ""}}},
            r"connector type 'tiny_ads' .*: dbt_field_overrides\['device'\]\['device'\]: the SQL must be",
        ),
    ],
)
def test_a_bad_mapping_is_one_line_naming_type_and_key(
    monkeypatch: pytest.MonkeyPatch, attributes: dict[str, object], message: str
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "BadConnector", variant(**attributes), raising=False)
    monkeypatch.setitem(registry.BUILT_IN, "tiny_ads", f"{__name__}:BadConnector")
    with pytest.raises(ConfigError, match=message) as info:
        channel_vars()
    assert "\n" not in str(info.value)
