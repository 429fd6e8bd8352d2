"""Row parsing, validation, quarantine and the campaign-level residual, on hand-built protobuf rows."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.google_ads.rows import ChunkBuilder, field_value, row_type
from connectors.google_ads.schema import AD_PERFORMANCE

ACCOUNT = "1234567890"
DAY = dt.date(2025, 3, 3)
START, END = dt.date(2025, 3, 1), dt.date(2025, 3, 7)


def make_row(
    *,
    day: str = DAY.isoformat(),
    customer: int = int(ACCOUNT),
    campaign: int = 111,
    ad_group: int | None = 222,
    ad: int | None = 333,
    impressions: int = 100,
    clicks: int = 10,
    cost: int = 5_000_000,
    conversions: float = 1.5,
    value: float = 30.25,
    vtc: int = 1,
    channel: str = "SEARCH",
) -> Any:
    row = row_type()()
    row.segments.date = day
    row.customer.id = customer
    row.customer.descriptive_name = "Shop FR"
    row.customer.currency_code = "EUR"
    row.customer.time_zone = "Europe/Paris"
    row.campaign.id = campaign
    row.campaign.name = f"Campaign {campaign}"
    status = row.campaign.DESCRIPTOR.fields_by_name["status"].enum_type
    row.campaign.status = status.values_by_name["ENABLED"].number
    channels = row.campaign.DESCRIPTOR.fields_by_name["advertising_channel_type"].enum_type
    row.campaign.advertising_channel_type = channels.values_by_name[channel].number
    if ad_group is not None:
        row.ad_group.id = ad_group
        row.ad_group.name = f"Ad group {ad_group}"
    if ad is not None:
        row.ad_group_ad.ad.id = ad
    row.metrics.impressions = impressions
    row.metrics.clicks = clicks
    row.metrics.cost_micros = cost
    row.metrics.conversions = conversions
    row.metrics.conversions_value = value
    row.metrics.view_through_conversions = vtc
    return row


def builder() -> ChunkBuilder:
    return ChunkBuilder(ACCOUNT, START, END)


def test_an_ad_row_becomes_a_typed_raw_row() -> None:
    chunk = builder()
    chunk.add_ad_row(make_row())
    table = chunk.table()
    assert table.schema == AD_PERFORMANCE.schema
    assert table.to_pylist() == [
        {
            "date": DAY,
            "customer_id": ACCOUNT,
            "customer_name": "Shop FR",
            "currency_code": "EUR",
            "account_timezone": "Europe/Paris",
            "campaign_id": "111",
            "campaign_name": "Campaign 111",
            "campaign_status": "ENABLED",
            "campaign_channel_type": "SEARCH",
            "ad_group_id": "222",
            "ad_group_name": "Ad group 222",
            "ad_id": "333",
            "row_level": "ad",
            "impressions": 100,
            "clicks": 10,
            "cost_micros": 5_000_000,
            "conversions": 1.5,
            "conversions_value": 30.25,
            "view_through_conversions": 1,
        }
    ]


def test_absent_optional_fields_read_as_none() -> None:
    row = row_type()()
    assert field_value(row, "ad_group_ad.ad.id") is None
    assert field_value(row, "campaign.status") == "UNSPECIFIED"


def test_campaign_spend_without_ads_becomes_a_campaign_level_row() -> None:
    chunk = builder()
    chunk.add_ad_row(make_row(ad=333, cost=2_000_000, impressions=40, clicks=4, conversions=0.5, value=10.1))
    chunk.add_ad_row(make_row(ad=334, cost=1_000_000, impressions=20, clicks=1, conversions=0.2, value=5.05))
    # the campaign's totals: 1 000 000 micros, 10 impressions ... more than its ads
    chunk.add_campaign_row(
        make_row(ad_group=None, ad=None, cost=4_000_000, impressions=70, clicks=5, conversions=0.7, value=15.15)
    )
    # a Performance Max campaign: no ad rows at all
    chunk.add_campaign_row(make_row(campaign=999, ad_group=None, ad=None, channel="PERFORMANCE_MAX"))
    rows = chunk.table().to_pylist()
    residual = [r for r in rows if r["row_level"] == "campaign"]
    assert [(r["campaign_id"], r["cost_micros"], r["impressions"], r["clicks"]) for r in residual] == [
        ("111", 1_000_000, 10, 0),
        ("999", 5_000_000, 100, 10),
    ]
    assert residual[0]["conversions"] == 0.0
    assert residual[0]["conversions_value"] == 0.0
    assert all(r["ad_group_id"] is None and r["ad_id"] is None for r in residual)
    assert sum(r["cost_micros"] for r in rows) == 4_000_000 + 5_000_000


def test_a_campaign_fully_covered_by_its_ads_adds_nothing() -> None:
    chunk = builder()
    chunk.add_ad_row(make_row())
    chunk.add_campaign_row(make_row(ad_group=None, ad=None))
    assert [r["row_level"] for r in chunk.rows] == ["ad"]


@given(
    ads=st.lists(
        st.tuples(st.integers(0, 10**9), st.integers(0, 10**4), st.floats(0, 100, allow_nan=False)),
        max_size=6,
    ),
    extra_cost=st.integers(0, 10**9),
    extra_conversions=st.floats(0, 100, allow_nan=False),
)
def test_loaded_cost_always_sums_to_the_campaign_total(
    ads: list[tuple[int, int, float]], extra_cost: int, extra_conversions: float
) -> None:
    chunk = builder()
    for i, (cost, impressions, conversions) in enumerate(ads):
        chunk.add_ad_row(make_row(ad=1000 + i, cost=cost, impressions=impressions, conversions=conversions))
    total_cost = sum(a[0] for a in ads) + extra_cost
    total_conversions = sum(a[2] for a in ads) + extra_conversions
    chunk.add_campaign_row(
        make_row(ad_group=None, ad=None, cost=total_cost, impressions=0, conversions=total_conversions)
    )
    assert sum(r["cost_micros"] for r in chunk.rows) == total_cost
    assert sum(r["conversions"] for r in chunk.rows) == pytest.approx(total_conversions, abs=1e-5)
    assert all(r["cost_micros"] >= 0 for r in chunk.rows)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (make_row(cost=-10_000), "negative_cost"),
        (make_row(clicks=-1), "negative_metric:clicks"),
        (make_row(ad=0), "missing_id:ad_id"),
        (make_row(campaign=0), "missing_id:campaign_id"),
        (make_row(day="2025-13-45"), "unparsable:date"),
        (make_row(conversions=float("nan")), "unparsable:conversions"),
        (make_row(day="2025-02-01"), "date_out_of_range"),
        (make_row(customer=0), "missing_id:customer_id"),
        (make_row(customer=9876543210), "account_mismatch"),
    ],
)
def test_bad_ad_rows_are_quarantined_with_their_reason(row: Any, reason: str) -> None:
    chunk = builder()
    chunk.add_ad_row(row)
    assert chunk.rows == []
    [bad] = chunk.quarantine
    assert bad.reason == reason
    assert bad.account_id == ACCOUNT
    assert START <= bad.day <= END
    assert json.loads(bad.record or "{}")["campaign_name"] == row.campaign.name


def test_a_row_out_of_range_is_quarantined_on_the_first_day_with_its_real_date_kept() -> None:
    chunk = builder()
    chunk.add_ad_row(make_row(day="2025-02-01"))
    assert chunk.quarantine[0].day == START
    assert json.loads(chunk.quarantine[0].record or "{}")["date"] == "2025-02-01"


def test_a_duplicate_ad_row_is_quarantined() -> None:
    chunk = builder()
    chunk.add_ad_row(make_row())
    chunk.add_ad_row(make_row(cost=1))
    assert [q.reason for q in chunk.quarantine] == ["duplicate_key"]
    assert len(chunk.rows) == 1


def test_no_residual_is_guessed_when_an_ad_row_has_bad_metrics() -> None:
    chunk = builder()
    chunk.add_ad_row(make_row(cost=-10_000))
    chunk.add_campaign_row(make_row(ad_group=None, ad=None, cost=9_000_000))
    assert chunk.rows == []
    assert [q.reason for q in chunk.quarantine] == ["negative_cost", "residual_unreliable"]


def test_an_ad_row_with_a_missing_id_still_counts_as_ad_spend() -> None:
    chunk = builder()
    chunk.add_ad_row(make_row(ad=0, cost=3_000_000))
    chunk.add_campaign_row(make_row(ad_group=None, ad=None, cost=3_000_000, impressions=100, clicks=10))
    assert [q.reason for q in chunk.quarantine] == ["missing_id:ad_id"]
    assert chunk.rows == []  # the residual does not absorb the quarantined ad's cost


def test_several_problems_are_all_named() -> None:
    chunk = builder()
    chunk.add_ad_row(make_row(ad=0, cost=-1))
    assert chunk.quarantine[0].reason == "negative_cost; missing_id:ad_id"
