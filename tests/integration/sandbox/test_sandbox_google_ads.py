"""The official google-ads client against the Google Ads sandbox: rows, paging, MCC, errors, faults."""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from google.ads.googleads.client import GoogleAdsClient
from google.ads.googleads.errors import GoogleAdsException
from google.ads.googleads.v26.errors.types.errors import GoogleAdsFailure
from google.api_core import exceptions as core_exceptions

from sandbox import GOOGLE, Fault, GoogleAdsSandbox, SandboxConfig, dynamics, google_ads_client_kwargs
from sandbox.google_ads import FAILURE_METADATA_KEY

START, END = date(2025, 3, 1), date(2025, 3, 7)
AD_QUERY = (
    "SELECT segments.date, customer.id, customer.descriptive_name, customer.currency_code, "
    "customer.time_zone, campaign.id, campaign.name, campaign.status, campaign.advertising_channel_type, "
    "ad_group.id, ad_group.name, ad_group_ad.ad.id, metrics.impressions, metrics.clicks, "
    "metrics.cost_micros, metrics.conversions, metrics.conversions_value, "
    "metrics.view_through_conversions FROM ad_group_ad "
    f"WHERE segments.date BETWEEN '{START}' AND '{END}'"
)


def stream(service: Any, customer_id: str, query: str, timeout: float = 10) -> list[Any]:
    return [
        row
        for batch in service.search_stream(customer_id=customer_id, query=query, timeout=timeout)
        for row in batch.results
    ]


def failure_from(error: core_exceptions.GoogleAPICallError) -> GoogleAdsFailure:
    metadata = dict(error.response.trailing_metadata())  # type: ignore[union-attr]
    return GoogleAdsFailure.deserialize(metadata[FAILURE_METADATA_KEY])


def test_manager_lists_its_clients(google_sandbox: GoogleAdsSandbox, google_service: Any) -> None:
    query = (
        "SELECT customer_client.id, customer_client.descriptive_name, customer_client.currency_code, "
        "customer_client.time_zone, customer_client.manager, customer_client.status, customer_client.level "
        "FROM customer_client WHERE customer_client.level <= 1"
    )
    rows = stream(google_service, google_sandbox.manager_id, query)
    by_level = {r.customer_client.level for r in rows}
    assert by_level == {0, 1}
    children = [r.customer_client for r in rows if r.customer_client.level == 1]
    assert len(children) == 4  # three enabled clients and a cancelled one
    assert {c.status.name for c in children} == {"ENABLED", "CANCELED"}
    enabled = stream(
        google_service,
        google_sandbox.manager_id,
        "SELECT customer_client.id, customer_client.currency_code FROM customer_client "
        "WHERE customer_client.status = 'ENABLED' AND customer_client.manager = FALSE",
    )
    assert sorted(str(r.customer_client.id) for r in enabled) == sorted(google_sandbox.account_ids)
    assert {r.customer_client.currency_code for r in enabled} == {"EUR", "USD", "GBP"}


def test_ad_rows_match_truth(google_sandbox: GoogleAdsSandbox, google_service: Any) -> None:
    for account in google_sandbox.account_ids:
        rows = stream(google_service, account, AD_QUERY)
        truth = google_sandbox.truth.totals(GOOGLE, account, START, END, level="ad")
        assert len(rows) == truth.rows > 0
        assert sum(r.metrics.cost_micros for r in rows) == truth.cost_micros
        assert sum(r.metrics.clicks for r in rows) == truth.clicks
        conversions = sum(Decimal(str(r.metrics.conversions)) for r in rows)
        assert conversions == truth.conversions
        value = sum(Decimal(str(r.metrics.conversions_value)) for r in rows)
        assert value == truth.conversion_value
        first = rows[0]
        assert str(first.customer.id) == account
        assert first.ad_group_ad.ad.id > 0
        assert first.campaign.advertising_channel_type.name != "PERFORMANCE_MAX"
        assert {r.segments.date for r in rows} <= {str(START + timedelta(d)) for d in range(7)}
    assert google_sandbox.calls.total(method="SearchStream") == 3


def test_campaign_and_customer_levels_include_performance_max(
    google_sandbox: GoogleAdsSandbox, google_service: Any
) -> None:
    account = google_sandbox.account_ids[2]  # the first account's Performance Max starts mid-month (sandbox.dynamics)
    campaigns = stream(
        google_service,
        account,
        "SELECT segments.date, campaign.id, campaign.advertising_channel_type, metrics.cost_micros "
        f"FROM campaign WHERE segments.date = '{START}' AND campaign.status != 'REMOVED'",
    )
    pmax = [r for r in campaigns if r.campaign.advertising_channel_type.name == "PERFORMANCE_MAX"]
    assert pmax
    assert pmax[0].metrics.cost_micros > 0
    truth = google_sandbox.truth
    assert (
        sum(r.metrics.cost_micros for r in campaigns)
        == truth.day_totals(GOOGLE, account, START, level="campaign").cost_micros
    )
    daily = stream(
        google_service,
        account,
        "SELECT segments.date, customer.id, customer.currency_code, metrics.cost_micros, metrics.clicks "
        f"FROM customer WHERE segments.date BETWEEN '{START}' AND '{END}'",
    )
    assert len(daily) == 7
    for row in daily:
        day = date.fromisoformat(row.segments.date)
        assert row.metrics.cost_micros == truth.day_totals(GOOGLE, account, day, level="account").cost_micros


def test_search_pages_through_results() -> None:
    config = SandboxConfig(seed=11, as_of=date(2025, 3, 20), google_page_size=7)
    with GoogleAdsSandbox(config) as small_pages:
        client = GoogleAdsClient(**google_ads_client_kwargs(small_pages))
        service = client.get_service("GoogleAdsService")
        account = small_pages.account_ids[0]
        request = client.get_type("SearchGoogleAdsRequest")
        request.customer_id = account
        request.query = AD_QUERY
        rows = list(service.search(request=request, timeout=10))
        assert len(rows) == small_pages.truth.totals(GOOGLE, account, START, END).rows
        assert small_pages.calls.total(method="Search") == -(-len(rows) // 7)


def test_attribute_only_queries_list_entities(google_sandbox: GoogleAdsSandbox, google_service: Any) -> None:
    account = google_sandbox.account_ids[1]
    structure = google_sandbox.truth.data.structure(GOOGLE, account)
    rows = stream(google_service, account, "SELECT campaign.id, campaign.name FROM campaign ORDER BY campaign.id")
    assert [str(r.campaign.id) for r in rows] == sorted(c.campaign_id for c in structure.campaigns)
    ads = stream(google_service, account, "SELECT ad_group_ad.ad.id, ad_group.name FROM ad_group_ad LIMIT 2")
    assert len(ads) == min(2, len(structure.ads))


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("SELECT campaign.nonexistent FROM campaign", "UNRECOGNIZED_FIELD"),
        ("SELECT campaign.id FROM flying_saucer", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT landing_page_view.resource_name FROM landing_page_view", "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT metrics.clicks FROM customer_client", "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"),
        ("SELECT segments.date, metrics.clicks FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE"),
        ("SELECT campaign.id FROM campaign WHERE", "UNEXPECTED_END_OF_QUERY"),
        (
            "SELECT segments.conversion_action, metrics.cost_micros FROM campaign WHERE segments.date = '2025-03-01'",
            "PROHIBITED_SEGMENT_WITH_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
        ),
        ("SELECT ad_group_criterion.keyword.text FROM campaign", "PROHIBITED_FIELD_IN_SELECT_CLAUSE"),
        ("SELECT search_term_view.search_term FROM keyword_view", "PROHIBITED_FIELD_IN_SELECT_CLAUSE"),
        ("SELECT segments.device, metrics.clicks FROM geographic_view", "PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE"),
        ("SELECT customer.id FROM geo_target_constant", "PROHIBITED_FIELD_IN_SELECT_CLAUSE"),
    ],
)
def test_bad_queries_are_invalid_argument(
    google_sandbox: GoogleAdsSandbox, google_service: Any, query: str, error: str
) -> None:
    with pytest.raises(GoogleAdsException) as info:
        stream(google_service, google_sandbox.account_ids[0], query)
    assert info.value.error.code().name == "INVALID_ARGUMENT"
    assert info.value.failure.errors[0].error_code.query_error.name == error
    assert info.value.request_id


def test_metrics_on_the_manager_are_refused(google_sandbox: GoogleAdsSandbox, google_service: Any) -> None:
    with pytest.raises(GoogleAdsException) as info:
        stream(google_service, google_sandbox.manager_id, AD_QUERY)
    assert info.value.failure.errors[0].error_code.query_error.name == "REQUESTED_METRICS_FOR_MANAGER"


def test_child_without_login_customer_id_is_denied(google_sandbox: GoogleAdsSandbox) -> None:
    client = GoogleAdsClient(**google_ads_client_kwargs(google_sandbox, login_customer_id=None))
    service = client.get_service("GoogleAdsService")
    with pytest.raises(GoogleAdsException) as info:
        stream(service, google_sandbox.account_ids[0], AD_QUERY)
    assert info.value.error.code().name == "PERMISSION_DENIED"
    assert info.value.failure.errors[0].error_code.authorization_error.name == "USER_PERMISSION_DENIED"
    # a manager needs no login-customer-id for itself
    assert stream(service, google_sandbox.manager_id, "SELECT customer.id FROM customer")


def test_unknown_and_cancelled_customers(google_sandbox: GoogleAdsSandbox, google_service: Any) -> None:
    with pytest.raises(GoogleAdsException) as info:
        stream(google_service, "1000000001", "SELECT customer.id FROM customer")
    assert info.value.error.code().name == "PERMISSION_DENIED"
    cancelled = google_sandbox.truth.data.google_cancelled.account_id
    with pytest.raises(GoogleAdsException) as info:
        stream(google_service, cancelled, "SELECT customer.id FROM customer")
    assert info.value.failure.errors[0].error_code.authorization_error.name == "CUSTOMER_NOT_ENABLED"


def test_temporarily_exhausted_quota_then_success(google_sandbox: GoogleAdsSandbox, google_service: Any) -> None:
    account = google_sandbox.account_ids[0]
    google_sandbox.faults.add(Fault("quota_retry", account=account, times=2, params={"retry_delay_seconds": 7}))
    for _ in range(2):
        with pytest.raises(core_exceptions.ResourceExhausted) as info:
            stream(google_service, account, AD_QUERY)
        error = failure_from(info.value).errors[0]
        assert error.error_code.quota_error.name == "RESOURCE_TEMPORARILY_EXHAUSTED"
        assert error.details.quota_error_details.retry_delay.seconds == 7
    assert stream(google_service, account, AD_QUERY)
    assert google_sandbox.calls.total(account=account) == 3


def test_daily_quota_exhausted(google_sandbox: GoogleAdsSandbox, google_service: Any) -> None:
    google_sandbox.faults.add(Fault("quota_daily"))
    with pytest.raises(core_exceptions.ResourceExhausted) as info:
        stream(google_service, google_sandbox.account_ids[0], AD_QUERY)
    assert failure_from(info.value).errors[0].error_code.quota_error.name == "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize(
    ("kind", "exception"),
    [
        ("unavailable", core_exceptions.ServiceUnavailable),
        ("internal", core_exceptions.InternalServerError),
    ],
)
def test_server_errors(
    google_sandbox: GoogleAdsSandbox, google_service: Any, kind: str, exception: type[Exception]
) -> None:
    google_sandbox.faults.add(Fault(kind, method="Search", times=1))
    with pytest.raises(exception):
        list(google_service.search(customer_id=google_sandbox.account_ids[0], query=AD_QUERY, timeout=10))
    assert list(google_service.search(customer_id=google_sandbox.account_ids[0], query=AD_QUERY, timeout=10))


def test_slow_answer_exceeds_client_timeout(google_sandbox: GoogleAdsSandbox, google_service: Any) -> None:
    google_sandbox.faults.add(Fault("slow", times=1, params={"delay_seconds": 3}))
    started = time.monotonic()
    with pytest.raises(core_exceptions.DeadlineExceeded):
        stream(google_service, google_sandbox.account_ids[0], AD_QUERY, timeout=0.3)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("kind", "status", "field", "name"),
    [
        ("revoked", "UNAUTHENTICATED", "authentication_error", "OAUTH_TOKEN_REVOKED"),
        ("permission_denied", "PERMISSION_DENIED", "authorization_error", "USER_PERMISSION_DENIED"),
    ],
)
def test_access_faults(
    google_sandbox: GoogleAdsSandbox, google_service: Any, kind: str, status: str, field: str, name: str
) -> None:
    google_sandbox.faults.add(Fault(kind))
    with pytest.raises(GoogleAdsException) as info:
        stream(google_service, google_sandbox.account_ids[0], AD_QUERY)
    assert info.value.error.code().name == status
    assert getattr(info.value.failure.errors[0].error_code, field).name == name


def test_missing_developer_token(google_sandbox: GoogleAdsSandbox) -> None:
    client = GoogleAdsClient(**google_ads_client_kwargs(google_sandbox, developer_token=" "))
    service = client.get_service("GoogleAdsService")
    with pytest.raises(GoogleAdsException) as info:
        stream(service, google_sandbox.account_ids[0], AD_QUERY)
    assert info.value.failure.errors[0].error_code.request_error.name == "DEVELOPER_TOKEN_PARAMETER_MISSING"


def test_malformed_rows_and_schema_drift(google_sandbox: GoogleAdsSandbox, google_service: Any) -> None:
    account = google_sandbox.account_ids[0]
    google_sandbox.faults.add(Fault("malformed", times=1, params={"mode": "negative_cost", "rows": 2}))
    rows = stream(google_service, account, AD_QUERY)
    assert [r.metrics.cost_micros < 0 for r in rows[:3]] == [True, True, False]
    google_sandbox.faults.add(Fault("malformed", times=1, params={"mode": "missing_id"}))
    assert stream(google_service, account, AD_QUERY)[0].ad_group_ad.ad.id == 0
    google_sandbox.faults.add(Fault("schema_drift", times=1))
    drifted = stream(google_service, account, AD_QUERY)
    assert "all_conversions" in drifted[0].metrics  # unrequested, ignorable by a strict reader
    assert "all_conversions" not in stream(google_service, account, AD_QUERY)[0].metrics


def test_data_faults_reach_the_client(google_sandbox: GoogleAdsSandbox, google_service: Any) -> None:
    account = google_sandbox.account_ids[2]
    clean = len(stream(google_service, account, AD_QUERY.replace(f"BETWEEN '{START}' AND '{END}'", f"= '{START}'")))
    google_sandbox.faults.add(Fault("row_drop", account=account, day=START))
    dropped = stream(google_service, account, AD_QUERY.replace(f"BETWEEN '{START}' AND '{END}'", f"= '{START}'"))
    assert len(dropped) <= max(1, clean * 0.35)
    assert len(dropped) == google_sandbox.truth.day_totals(GOOGLE, account, START).rows


def test_late_conversions_restate_recent_days(google_sandbox: GoogleAdsSandbox, google_service: Any) -> None:
    account = google_sandbox.account_ids[0]
    day = date(2025, 3, 19)
    query = f"SELECT customer.id, metrics.conversions, metrics.cost_micros FROM customer WHERE segments.date = '{day}'"
    seen = []
    for lag in (1, 5, 13, 14, 20):
        google_sandbox.truth.as_of = day + timedelta(lag)
        (row,) = stream(google_service, account, query)
        seen.append((row.metrics.conversions, row.metrics.cost_micros))
    conversions = [c for c, _ in seen]
    assert conversions == sorted(conversions)
    assert conversions[0] < conversions[-1]
    assert conversions[3] == conversions[4]  # window closed after 14 days
    assert len({cost for _, cost in seen}) == 1
    google_sandbox.truth.as_of = day - timedelta(1)
    assert stream(google_service, account, query) == []


def test_same_seed_same_bytes(google_sandbox: GoogleAdsSandbox, google_service: Any) -> None:
    account = google_sandbox.account_ids[0]
    first = b"".join(type(r).serialize(r) for r in stream(google_service, account, AD_QUERY))
    with GoogleAdsSandbox(SandboxConfig(seed=11, as_of=date(2025, 3, 20))) as twin:
        service = GoogleAdsClient(**google_ads_client_kwargs(twin)).get_service("GoogleAdsService")
        second = b"".join(type(r).serialize(r) for r in stream(service, account, AD_QUERY))
    assert first == second


def test_breakdown_resources_split_the_campaign_totals_exactly(
    google_sandbox: GoogleAdsSandbox, google_service: Any
) -> None:
    account = google_sandbox.account_ids[0]
    where = f"WHERE segments.date BETWEEN '{START}' AND '{END}'"
    campaign = stream(google_service, account, f"SELECT campaign.id, metrics.cost_micros FROM campaign {where}")
    total = sum(r.metrics.cost_micros for r in campaign)
    for query in (
        "SELECT campaign.id, segments.device, metrics.cost_micros FROM campaign",
        "SELECT campaign.id, geographic_view.country_criterion_id, geographic_view.location_type, "
        "segments.geo_target_region, metrics.cost_micros FROM geographic_view",
    ):
        assert sum(r.metrics.cost_micros for r in stream(google_service, account, f"{query} {where}")) == total
    names = stream(
        google_service,
        account,
        "SELECT geo_target_constant.id, geo_target_constant.country_code, geo_target_constant.name "
        "FROM geo_target_constant WHERE geo_target_constant.id IN (2250, 2840)",
    )
    assert {(r.geo_target_constant.id, r.geo_target_constant.country_code) for r in names} == {
        (2250, "FR"),
        (2840, "US"),
    }


def test_campaign_snapshots_report_the_mid_month_start_and_the_pause(
    google_sandbox: GoogleAdsSandbox, google_service: Any
) -> None:
    truth = google_sandbox.truth
    as_of = truth.resolve_as_of()
    query = "SELECT campaign.id, campaign.status, campaign.start_date_time FROM campaign"
    starting, pausing = google_sandbox.account_ids[:2]
    rows = {str(r.campaign.id): r.campaign for r in stream(google_service, starting, query)}
    last = truth.data.structure(GOOGLE, starting).campaigns[-1].campaign_id
    start = dynamics.campaign_start(truth.data, GOOGLE, starting, last, as_of)
    assert start is not None
    assert rows[last].start_date_time == f"{start.isoformat()} 00:00:00"
    rows = {str(r.campaign.id): r.campaign for r in stream(google_service, pausing, query)}
    first = truth.data.structure(GOOGLE, pausing).campaigns[0].campaign_id
    assert dynamics.campaign_paused_from(truth.data, GOOGLE, pausing, first, as_of) is not None
    assert rows[first].status.name == "PAUSED"
