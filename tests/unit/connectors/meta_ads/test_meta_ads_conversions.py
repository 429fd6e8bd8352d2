"""The Meta conversion rule (connectors/meta_ads/conversions.py): one definition, applied to every insights row;
overlapping omni / pixel / plain purchase types are never counted twice; hostile configuration is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import Account
from connectors.kit.rows import BadRow
from connectors.meta_ads.conversions import (
    DEFAULT_CONVERSION_ACTION_TYPES,
    ConversionRule,
    action_family,
    rule_problem,
)
from connectors.meta_ads.rows import ROW_FORMATS, RowBatch
from connectors.meta_ads.settings import MetaAdsSettings

ACCOUNT = Account("123", "Shop", "EUR", "Europe/Paris")
DAY = dt.date(2026, 3, 2)
PURCHASE_TYPES = ("omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase")


def items(**values: str) -> list[dict[str, str]]:
    return [{"action_type": name.replace("__", "."), "value": value} for name, value in values.items()]


ALL_THREE = items(link_click="40", purchase="3", offsite_conversion__fb_pixel_purchase="3", omni_purchase="3")
ALL_THREE_VALUES = items(purchase="120.5", offsite_conversion__fb_pixel_purchase="120.5", omni_purchase="120.5")


def test_default_is_the_first_of_the_three_purchase_types() -> None:
    rule = ConversionRule()
    assert (rule.action_types, rule.aggregation) == (DEFAULT_CONVERSION_ACTION_TYPES, "first_match")
    assert rule.action_types == PURCHASE_TYPES
    assert rule.describe() == "first_match: omni_purchase else purchase else offsite_conversion.fb_pixel_purchase"


@pytest.mark.parametrize("order", [PURCHASE_TYPES, PURCHASE_TYPES[::-1], PURCHASE_TYPES[1:], ("purchase",)])
def test_the_same_purchases_under_three_types_count_once_in_any_order(order: tuple[str, ...]) -> None:
    rule = ConversionRule(order)
    assert rule.conversions(ALL_THREE) == 3.0
    assert rule.conversion_value(ALL_THREE_VALUES) == Decimal("120.500000")


def test_first_match_takes_the_first_listed_type_present() -> None:
    rule = ConversionRule()
    pixel_only = items(lead="2", offsite_conversion__fb_pixel_purchase="1")
    assert rule.conversions(pixel_only) == 1.0
    assert rule.conversion_value(items(offsite_conversion__fb_pixel_purchase="19.99")) == Decimal("19.99")
    # a type present with 0 wins: the row reports no purchase, the pixel count is not a fallback
    assert rule.conversions(items(omni_purchase="0", purchase="5")) == 0.0
    assert rule.conversions(items(add_to_cart="5")) == 0.0
    assert rule.conversions(None) == 0.0
    assert rule.conversion_value([]) == Decimal(0)


def test_counts_and_values_are_taken_from_their_own_lists() -> None:
    """omni_purchase counts, but only `purchase` carries a value on this row: the value is not lost."""
    rule = ConversionRule()
    assert rule.conversions(items(omni_purchase="2", purchase="2")) == 2.0
    assert rule.conversion_value(items(purchase="80")) == Decimal(80)


def test_sum_adds_types_that_do_not_overlap() -> None:
    rule = ConversionRule(("lead", "purchase"), "sum")
    assert rule.conversions(items(lead="2", purchase="3", omni_purchase="3")) == 5.0
    assert rule.conversions(items(lead="4")) == 4.0
    assert rule.conversion_value(items(purchase="50", lead="7.5")) == Decimal("57.5")


def test_entries_of_one_type_under_other_action_breakdowns_add_up() -> None:
    """With action_breakdowns such as action_device a type appears once per device: all of them count."""
    split = [
        {"action_type": "purchase", "action_device": "iphone", "value": "2"},
        {"action_type": "purchase", "action_device": "desktop", "value": "1"},
        {"action_type": "omni_purchase", "action_device": "desktop", "value": "9"},
    ]
    assert ConversionRule(("purchase",)).conversions(split) == 3.0


@pytest.mark.parametrize(
    "types",
    [
        ("purchase", "offsite_conversion.fb_pixel_purchase"),
        ("omni_purchase", "purchase"),
        ("lead", "offsite_conversion.fb_pixel_lead"),
        ("onsite_conversion.lead_grouped", "lead"),
        ("omni_initiated_checkout", "initiate_checkout"),
        ("omni_complete_registration", "offsite_conversion.fb_pixel_complete_registration"),
    ],
)
def test_summing_types_of_one_family_is_refused(types: tuple[str, ...]) -> None:
    problem = rule_problem(types, "sum")
    assert problem is not None
    assert "counts each twice" in problem
    with pytest.raises(ValueError, match="counts each twice"):
        ConversionRule(types, "sum")
    assert rule_problem(types, "first_match") is None


def test_families() -> None:
    assert {action_family(t) for t in PURCHASE_TYPES} == {"purchase"}
    assert action_family("offsite_conversion.custom.123") == "offsite_conversion.custom.123"
    assert action_family("lead") != action_family("purchase")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-1", "negative_metric"),
        ("abc", "unparsable"),
        (None, "unparsable"),
        (True, "unparsable"),
        ("1,2", "unparsable"),
    ],
)
def test_a_bad_counted_value_is_a_bad_row(value: Any, reason: str) -> None:
    with pytest.raises(BadRow) as caught:
        ConversionRule().conversions([{"action_type": "omni_purchase", "value": value}])
    assert caught.value.reason.code == reason


def test_a_bad_value_of_an_uncounted_type_is_ignored() -> None:
    assert ConversionRule().conversions([{"action_type": "link_click", "value": "n/a"}, *ALL_THREE]) == 3.0


def test_values_are_exact_and_bounded() -> None:
    rule = ConversionRule()
    assert rule.conversion_value(items(purchase="0.1", omni_purchase="0.3")) == Decimal("0.300000")
    assert rule.conversion_value(items(purchase="1,234.56")) == Decimal("1234.56")
    assert rule.conversion_value(items(purchase="0.0000005")) == Decimal("0.000001")  # half away from zero
    with pytest.raises(BadRow) as caught:
        rule.conversion_value(items(purchase="1000000000000"))
    assert caught.value.reason.code == "out_of_range"


def test_every_insights_stream_applies_the_same_rule() -> None:
    """Ad rows, breakdown rows and the account totals (what reconciliation compares) all count the same way."""
    common = {"date_start": "2026-03-02", "date_stop": "2026-03-02", "account_id": "123", "spend": "10"}
    ids = {"campaign_id": "1", "adset_id": "2", "ad_id": "3"}
    raws = {
        "ad_insights": {**common, **ids},
        "country_insights": {**common, "campaign_id": "1", "country": "FR"},
        "account_totals": common,
    }
    rule = ConversionRule()
    for stream, raw in raws.items():
        batch = RowBatch(ACCOUNT, rule, ROW_FORMATS[stream])
        batch.add([{**raw, "actions": ALL_THREE, "action_values": ALL_THREE_VALUES}], DAY, DAY)
        records, quarantined = batch.take()
        assert quarantined == []
        assert (records[0]["conversions"], records[0]["conversion_value"]) == (3.0, Decimal("120.5")), stream


def test_a_malformed_counted_action_is_quarantined_with_its_reason() -> None:
    raw = {"date_start": "2026-03-02", "account_id": "123", "campaign_id": "1", "adset_id": "2", "ad_id": "3"}
    batch = RowBatch(ACCOUNT, ConversionRule())
    batch.add([{**raw, "actions": [{"action_type": "omni_purchase", "value": "-3"}]}], DAY, DAY)
    records, quarantined = batch.take()
    assert records == []
    assert len(quarantined) == 1
    assert "negative_metric" in str(quarantined[0])


def settings(**options: Any) -> MetaAdsSettings:
    base = {"name": "m", "type": "meta_ads", "accounts": ["act_1"], "credentials": {"access_token": "env:T"}}
    return MetaAdsSettings.model_validate({**base, **options})


def test_settings_hold_the_rule() -> None:
    assert settings().conversion_rule == ConversionRule()
    rule = settings(conversion_action_types=["lead", "purchase"], conversion_aggregation="sum").conversion_rule
    assert rule == ConversionRule(("lead", "purchase"), "sum")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {
                "conversion_action_types": ["purchase", "offsite_conversion.fb_pixel_purchase"],
                "conversion_aggregation": "sum",
            },
            "counts each twice",
        ),
        ({"conversion_aggregation": "average"}, "conversion_aggregation"),
        ({"conversion_aggregation": "first_match; DROP TABLE x"}, "conversion_aggregation"),
        ({"conversion_action_types": ["purchase' OR '1"]}, "letters, digits"),
        ({"conversion_action_types": ["metrics.clicks; DROP TABLE x"]}, "letters, digits"),
        ({"conversion_action_types": ["purchase\nDROP"]}, "letters, digits"),
        ({"conversion_action_types": ["purсhase"]}, "letters, digits"),  # Cyrillic 'с'
        ({"conversion_action_types": ["ｐurchase"]}, "letters, digits"),  # fullwidth 'ｐ'
        ({"conversion_action_types": []}, "conversion_action_types"),
        ({"conversion_action_types": ["purchase", "purchase"]}, "listed twice"),
    ],
)
def test_settings_refuse_bad_rules(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings(**options)
