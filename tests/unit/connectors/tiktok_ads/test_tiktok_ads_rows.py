"""TikTok report rows -> raw records: numbers as strings, money exact, stat_time_day as a day, and every bad
row quarantined with its reason code (never dropped, never fatal for the page); return codes classified."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import Account
from connectors.kit.rows import BadRow, parse_reasons
from connectors.tiktok_ads.client import classify_code, classify_status, fatal_message
from connectors.tiktok_ads.rows import ReportBatch, parse_row

ACCOUNT = Account("7001", "Brand FR", "EUR", "Europe/Paris")
DAY = dt.date(2025, 3, 10)


def ad_row(**metrics: Any) -> dict[str, Any]:
    values = {
        "campaign_id": "11",
        "campaign_name": "Spark",
        "adgroup_id": "22",
        "adgroup_name": "Group",
        "ad_name": "Video 1",
        "spend": "12.34",
        "impressions": "1000",
        "clicks": "25",
        "conversion": "3",
        "total_complete_payment_rate": "99.90",
        **metrics,
    }
    return {"dimensions": {"ad_id": "33", "stat_time_day": "2025-03-10 00:00:00"}, "metrics": values}


def test_an_ad_row_becomes_a_typed_record_with_the_advertisers_currency_and_time_zone() -> None:
    record = parse_row(ad_row(), "ad_performance", ACCOUNT)
    assert record == {
        "ad_id": "33",
        "date": DAY,
        "campaign_id": "11",
        "campaign_name": "Spark",
        "ad_group_id": "22",
        "ad_group_name": "Group",
        "ad_name": "Video 1",
        "spend": Decimal("12.340000"),
        "impressions": 1000,
        "clicks": 25,
        "conversions": 3.0,
        "conversion_value": Decimal("99.900000"),
        "account_id": "7001",
        "account_currency": "EUR",
        "account_name": "Brand FR",
        "account_timezone": "Europe/Paris",
    }


def test_an_untracked_value_is_zero_and_empty_metrics_are_zero() -> None:
    row = ad_row(clicks="-")
    del row["metrics"]["total_complete_payment_rate"]
    record = parse_row(row, "ad_performance", ACCOUNT)
    assert (record["clicks"], record["conversion_value"]) == (0, Decimal(0))


@pytest.mark.parametrize(
    ("row", "code"),
    [
        (ad_row(spend="-1.00"), "negative_cost"),
        (ad_row(impressions="n/a"), "unparsable"),
        (ad_row(clicks="2.5"), "unparsable"),
        (ad_row(spend="1e13"), "out_of_range"),
        (
            {"dimensions": {"ad_id": "", "stat_time_day": "2025-03-10 00:00:00"}, "metrics": ad_row()["metrics"]},
            "missing_id",
        ),
        (
            {"dimensions": {"ad_id": "x1", "stat_time_day": "2025-03-10 00:00:00"}, "metrics": ad_row()["metrics"]},
            "invalid_id",
        ),
        (
            {"dimensions": {"ad_id": "33", "stat_time_day": "2025-03-10 13:00:00"}, "metrics": ad_row()["metrics"]},
            "not_daily",
        ),
        ({"dimensions": {"ad_id": "33"}, "metrics": []}, "malformed"),
        ("not an object", "malformed"),
    ],
)
def test_bad_rows_raise_their_reason_code(row: object, code: str) -> None:
    with pytest.raises(BadRow) as raised:
        parse_row(row, "ad_performance", ACCOUNT)
    assert raised.value.reason.code == code


def test_a_batch_quarantines_bad_duplicate_and_out_of_window_rows_and_keeps_the_rest() -> None:
    batch = ReportBatch("ad_performance", ACCOUNT, DAY, DAY)
    late = ad_row()
    late["dimensions"] = {"ad_id": "34", "stat_time_day": "2025-03-11 00:00:00"}
    batch.add([ad_row(), ad_row(), ad_row(spend="-2"), late])
    assert len(batch.records) == 1
    reasons = [parse_reasons(q.reason)[0].code for q in batch.quarantine]
    assert reasons == ["duplicate_key", "negative_cost", "date_out_of_range"]
    assert all(q.day == DAY for q in batch.quarantine)  # filed inside the unit's scope
    assert batch.collector.table().num_rows == 1


def test_totals_of_another_advertiser_are_quarantined() -> None:
    batch = ReportBatch("account_totals", ACCOUNT, DAY, DAY)
    row = {
        "dimensions": {"advertiser_id": "9999", "stat_time_day": "2025-03-10 00:00:00"},
        "metrics": {"spend": "1", "impressions": "1", "clicks": "0", "conversion": "0"},
    }
    batch.add([row])
    assert not batch.records
    assert parse_reasons(batch.quarantine[0].reason)[0].code == "account_mismatch"


def test_country_codes_are_iso_alpha_2() -> None:
    metrics = {"campaign_name": "C", "spend": "1", "impressions": "1", "clicks": "0", "conversion": "0"}
    row = {"dimensions": {"campaign_id": "11", "country_code": "fr", "stat_time_day": "2025-03-10"}, "metrics": metrics}
    assert parse_row(row, "country_performance", ACCOUNT)["country_code"] == "FR"
    row["dimensions"]["country_code"] = "France"
    with pytest.raises(BadRow, match="unparsable"):
        parse_row(row, "country_performance", ACCOUNT)


@pytest.mark.parametrize(
    ("code", "retryable"),
    [(40100, True), (50000, True), (51004, True), (40001, False), (40002, False), (40105, False), (40104, False)],
)
def test_return_codes_are_classified(code: int, retryable: bool) -> None:
    assert classify_code(code, "message", "req-1").retryable is retryable


def test_http_statuses_are_classified_and_retry_after_is_kept() -> None:
    assert classify_status(503, {}).retryable
    throttled = classify_status(429, {"Retry-After": "7"})
    assert (throttled.retryable, throttled.retry_after) == (True, 7.0)
    assert not classify_status(401, {}).retryable


def test_fatal_messages_say_what_to_fix() -> None:
    token = fatal_message(classify_code(40105, "Access token is invalid", None), "TikTok Ads t", "t")
    assert "connectors.t.credentials.access_token" in token
    permission = fatal_message(classify_code(40001, "No permission", None), "TikTok Ads t", "t")
    assert "permission denied" in permission
