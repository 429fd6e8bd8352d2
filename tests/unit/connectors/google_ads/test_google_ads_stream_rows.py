"""Rows of the Google Ads streams other than ad_performance, on hand-built protobuf rows: ids from resource
names, typed values, repeated fields, snapshot dating and quarantine."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from connectors.google_ads.rows import StreamBuilder, field_value, resource_id, row_type
from connectors.google_ads.schema import AD_GROUP_SNAPSHOT, AD_SNAPSHOT, SEARCH_TERM_PERFORMANCE
from connectors.google_ads.settings import STREAM_QUERIES

ACCOUNT = "1234567890"
START, END = dt.date(2025, 3, 1), dt.date(2025, 3, 7)


def enum(message: Any, name: str, value: str) -> int:
    field = message.DESCRIPTOR.fields_by_name.get(name) or message.DESCRIPTOR.fields_by_name[f"{name}_"]
    return int(field.enum_type.values_by_name[value].number)


def search_term_row(
    *, day: str = "2025-03-03", customer: int = int(ACCOUNT), term: str = "buy tents", cost: int = 10_000
) -> Any:
    row = row_type()()
    row.segments.date = day
    row.customer.id = customer
    row.campaign.id = 11
    row.ad_group.id = 22
    row.segments.keyword.ad_group_criterion = f"customers/{ACCOUNT}/adGroupCriteria/22~333"
    row.segments.keyword.info.text = "tents"
    row.search_term_view.search_term = term
    row.search_term_view.status = enum(row.search_term_view, "status", "NONE")
    row.metrics.impressions = 10
    row.metrics.clicks = 2
    row.metrics.cost_micros = cost
    row.metrics.conversions = 0.5
    return row


def builder(stream: str, spec: Any, snapshot: bool = False) -> StreamBuilder:
    start = END if snapshot else START
    return StreamBuilder(ACCOUNT, start, END, STREAM_QUERIES[stream], spec, snapshot=snapshot)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("customers/1/adGroupCriteria/22~333", "333"),
        ("geoTargetConstants/2250", "2250"),
        ("customers/1/conversionActions/987", "987"),
        (2250, "2250"),
        (0, None),
        ("", None),
        (None, None),
    ],
)
def test_resource_id(value: Any, expected: str | None) -> None:
    assert resource_id(value) == expected


def test_search_term_rows_read_the_matching_keyword_from_its_resource_name() -> None:
    rows = builder("search_term_performance", SEARCH_TERM_PERFORMANCE)
    rows.add(search_term_row())
    [row] = rows.table().to_pylist()
    assert row == {
        "date": dt.date(2025, 3, 3),
        "customer_id": ACCOUNT,
        "campaign_id": "11",
        "ad_group_id": "22",
        "criterion_id": "333",
        "keyword_text": "tents",
        "search_term": "buy tents",
        "search_term_status": "NONE",
        "impressions": 10,
        "clicks": 2,
        "cost_micros": 10_000,
        "conversions": 0.5,
        "conversions_value": 0.0,
    }
    assert rows.quarantine == []


def test_bad_rows_are_quarantined_with_their_reasons() -> None:
    rows = builder("search_term_performance", SEARCH_TERM_PERFORMANCE)
    rows.add(search_term_row())
    rows.add(search_term_row())  # the same key again
    rows.add(search_term_row(term="cheap tents", cost=-10_000))
    rows.add(search_term_row(term="best tents", customer=9999999999))
    rows.add(search_term_row(term="tents sale", day="2025-04-01"))
    assert rows.table().num_rows == 1
    reasons = [q.reason for q in rows.quarantine]
    assert reasons == ["duplicate_key", "negative_cost", "account_mismatch", "date_out_of_range"]
    assert all(START <= q.day <= END for q in rows.quarantine)
    assert json.loads(rows.quarantine[3].record)["date"] == "2025-04-01"


def test_snapshot_rows_are_dated_the_snapshot_day_and_keep_repeated_fields() -> None:
    row = row_type()()
    row.customer.id = int(ACCOUNT)
    row.campaign.id = 11
    row.ad_group.id = 22
    row.ad_group_ad.ad.id = 333
    row.ad_group_ad.status = enum(row.ad_group_ad, "status", "PAUSED")
    row.ad_group_ad.ad.type_ = enum(row.ad_group_ad.ad, "type", "RESPONSIVE_SEARCH_AD")
    urls = ["https://www.example.com/a?utm_source=google", "https://www.example.com/b"]
    row.ad_group_ad.ad.final_urls.extend(urls)
    rows = builder("ad_snapshot", AD_SNAPSHOT, snapshot=True)
    rows.add(row)
    [got] = rows.table().to_pylist()
    assert got["snapshot_date"] == END
    assert (got["ad_id"], got["ad_status"], got["ad_type"]) == ("333", "PAUSED", "RESPONSIVE_SEARCH_AD")
    assert json.loads(got["final_urls"]) == urls
    assert got["final_url"] == urls[0]
    assert got["ad_name"] is None


def test_gaql_type_fields_and_integers() -> None:
    row = row_type()()
    row.customer.id = int(ACCOUNT)
    row.campaign.id = 11
    row.ad_group.id = 22
    row.ad_group.type_ = enum(row.ad_group, "type", "SEARCH_STANDARD")
    row.ad_group.cpc_bid_micros = 1_230_000
    assert field_value(row, "ad_group.type") == "SEARCH_STANDARD"
    rows = builder("ad_group_snapshot", AD_GROUP_SNAPSHOT, snapshot=True)
    rows.add(row)
    [got] = rows.table().to_pylist()
    assert (got["ad_group_type"], got["cpc_bid_micros"], got["ad_group_name"]) == ("SEARCH_STANDARD", 1_230_000, None)


def test_a_row_without_its_ids_is_quarantined() -> None:
    row = row_type()()
    row.customer.id = int(ACCOUNT)
    rows = builder("ad_group_snapshot", AD_GROUP_SNAPSHOT, snapshot=True)
    rows.add(row)
    assert rows.table().num_rows == 0
    assert rows.quarantine[0].reason == "missing_id:ad_group_id; missing_id:campaign_id"
