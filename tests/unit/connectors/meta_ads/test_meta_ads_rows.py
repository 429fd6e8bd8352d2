"""Insights rows -> raw records: types, conversions from the configured action types, quarantine reasons."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import Account
from connectors.kit.rows import BadRow, to_table
from connectors.meta_ads.conversions import ConversionRule
from connectors.meta_ads.rows import RowBatch, parse_row, unknown_fields
from connectors.meta_ads.schema import AD_INSIGHTS

ACCOUNT = Account("123", "Shop FR", "EUR", "Europe/Paris")
DAY = dt.date(2025, 3, 3)
PURCHASE = ConversionRule(("purchase",))


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "account_id": "123",
        "account_name": "Shop FR (row)",
        "account_currency": "EUR",
        "campaign_id": "11",
        "campaign_name": "Spring",
        "adset_id": "22",
        "adset_name": "Lookalike",
        "ad_id": "33",
        "ad_name": "Video",
        "impressions": "1000",
        "clicks": "25",
        "spend": "12.34",
        "reach": "800",
        "actions": [
            {"action_type": "link_click", "value": "20"},
            {"action_type": "purchase", "value": "3"},
            {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "3"},
            {"action_type": "omni_purchase", "value": "3"},
        ],
        "action_values": [
            {"action_type": "purchase", "value": "90.50"},
            {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "90.50"},
        ],
        "date_start": "2025-03-03",
        "date_stop": "2025-03-03",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def parse(raw: Any, types: ConversionRule = PURCHASE) -> dict[str, Any]:
    return parse_row(raw, ACCOUNT, types, DAY, DAY + dt.timedelta(days=6))


def test_a_row_becomes_a_typed_record() -> None:
    record = parse(row())
    assert record["date"] == DAY
    assert (record["account_id"], record["account_name"]) == ("123", "Shop FR")
    assert (record["account_currency"], record["account_timezone"]) == ("EUR", "Europe/Paris")
    assert (record["campaign_id"], record["adset_id"], record["ad_id"]) == ("11", "22", "33")
    assert (record["impressions"], record["clicks"], record["reach"]) == (1000, 25, 800)
    assert record["spend"] == Decimal("12.340000")
    assert json.loads(record["actions"]) == row()["actions"]
    assert json.loads(record["action_values"]) == row()["action_values"]
    table = to_table([record], AD_INSIGHTS)
    assert table.schema == AD_INSIGHTS.schema
    assert table["spend"].to_pylist() == [Decimal("12.34")]


def test_conversions_by_the_rule_never_double_count_overlapping_types() -> None:
    record = parse(row())
    assert (record["conversions"], record["conversion_value"]) == (3.0, Decimal("90.500000"))
    for rule in (ConversionRule(), ConversionRule(("offsite_conversion.fb_pixel_purchase", "purchase"))):
        counted = parse(row(), rule)
        assert (counted["conversions"], counted["conversion_value"]) == (3.0, Decimal("90.5"))
    # omni_purchase carries no value on this row: the value comes from the first type present in action_values
    assert parse(row(), ConversionRule())["conversion_value"] == Decimal("90.5")


def test_absent_metrics_and_lists() -> None:
    record = parse(row(clicks=None, reach=None, actions=None, action_values=None, spend=None))
    assert (record["clicks"], record["reach"], record["spend"]) == (0, None, Decimal(0))
    assert (record["actions"], record["action_values"]) == (None, None)
    assert (record["conversions"], record["conversion_value"]) == (0.0, 0.0)


def test_account_details_fall_back_to_the_row() -> None:
    record = parse_row(row(), Account("123"), PURCHASE, DAY, DAY)
    assert (record["account_name"], record["account_currency"], record["account_timezone"]) == (
        "Shop FR (row)",
        "EUR",
        None,
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"spend": "-1.00"}, "negative_cost:spend (-1.00)"),
        ({"spend": "N/A"}, "unparsable:spend ('N/A')"),
        ({"spend": "NaN"}, "unparsable:spend ('NaN')"),
        ({"ad_id": ""}, "missing_id:ad_id"),
        ({"adset_id": None}, "missing_id:adset_id"),
        ({"campaign_id": "0"}, "missing_id:campaign_id"),
        ({"ad_id": "abc"}, "invalid_id:ad_id 'abc' is not a Graph id"),
        ({"account_id": ""}, "missing_id:account_id"),
        ({"account_id": "999"}, "account_mismatch"),
        ({"impressions": "N/A"}, "unparsable:impressions ('N/A')"),
        ({"clicks": "1,2k"}, "unparsable:clicks ('1,2k')"),
        ({"clicks": "-3"}, "negative_metric:clicks (-3)"),
        ({"clicks": "2.5"}, "unparsable:clicks ('2.5'): not a whole number"),
        ({"spend": "1,23"}, "unparsable:spend ('1,23'): misplaced thousands separator"),
        ({"spend": "1.234,56"}, "unparsable:spend ('1.234,56'): misplaced thousands separator"),
        ({"date_start": None}, "unparsable:date_start (None) is not a date"),
        ({"date_start": "2025-02-28", "date_stop": "2025-02-28"}, "date_out_of_range"),
        ({"date_stop": "2025-03-04"}, "not_daily:date_stop '2025-03-04' differs from date_start 2025-03-03"),
        ({"actions": {"purchase": 1}}, "malformed:actions is not a list"),
        ({"actions": [{"action_type": "purchase", "value": "x"}]}, "unparsable:actions[purchase].value"),
        ({"action_values": [{"action_type": "purchase", "value": "-2"}]}, "negative_metric:action_values[purchase]"),
        ({"spend": "1e13"}, "out_of_range:spend"),
    ],
)
def test_bad_rows_name_their_reason(changes: dict[str, Any], reason: str) -> None:
    raw = row()
    raw.update(changes)
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(BadRow) as info:
        parse(raw)
    assert str(info.value).startswith(reason)


def test_an_unrequested_action_type_may_be_anything() -> None:
    record = parse(row(actions=[{"action_type": "lead", "value": "n/a"}, {"action_type": "purchase", "value": "2"}]))
    assert record["conversions"] == 2.0


def test_batch_quarantines_bad_and_duplicate_rows_and_notes_drift() -> None:
    batch = RowBatch(ACCOUNT, PURCHASE)
    batch.add([row(), row(spend="-5"), row(extra_metric="1"), "not an object", row(ad_id="34")], DAY, DAY)
    records, quarantine = batch.take()
    assert [r["ad_id"] for r in records] == ["33", "34"]
    assert [q.reason for q in quarantine] == [
        "negative_cost:spend (-5)",
        "duplicate_key",
        "malformed:row is not a JSON object (str)",
    ]
    assert all(q.account_id == "123" and q.day == DAY for q in quarantine)
    assert quarantine[0].record is not None
    assert '"spend":"-5"' in quarantine[0].record
    assert batch.unknown == {"extra_metric"}
    batch.add([row()], DAY, DAY)
    assert batch.take()[1][0].reason == "duplicate_key"


def test_a_row_outside_the_range_is_quarantined_on_the_first_day() -> None:
    batch = RowBatch(ACCOUNT, PURCHASE)
    batch.add([row(date_start="2025-01-01", date_stop="2025-01-01")], DAY, DAY + dt.timedelta(days=2))
    _, (quarantined,) = batch.take()
    assert quarantined.day == DAY


def test_unknown_fields() -> None:
    assert unknown_fields(row(new="1")) == {"new"}
    assert unknown_fields([1]) == set()


def test_the_docs_describe_every_column() -> None:
    from mdp.paths import PROJECT_ROOT

    text = (PROJECT_ROOT / "docs" / "connectors" / "meta_ads.md").read_text(encoding="utf-8")
    for name, doc in AD_INSIGHTS.column_docs.items():
        assert f"| `{name}` |" in text
        assert doc in text
