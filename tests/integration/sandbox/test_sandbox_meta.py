"""The official facebook-business SDK against the Meta Graph sandbox: insights (sync, async, paging),
account and object listings, Graph errors and faults."""

from __future__ import annotations

import json
import urllib.request
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.exceptions import FacebookRequestError

from sandbox import META, Fault, MetaSandbox, SandboxConfig, history
from sandbox.meta import facebook_api

START, END = "2025-03-01", "2025-03-07"
FIELDS = [
    "account_id",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "adset_id",
    "adset_name",
    "ad_id",
    "ad_name",
    "impressions",
    "clicks",
    "spend",
    "actions",
    "action_values",
]


def params(**extra: Any) -> dict[str, Any]:
    return {
        "level": "ad",
        "time_increment": 1,
        "time_range": {"since": START, "until": END},
        "limit": 25,
    } | extra


def conversions(rows: list[Any], types: tuple[str, ...] = ("purchase",)) -> Decimal:
    return sum(
        (Decimal(a["value"]) for r in rows for a in r.get("actions", []) if a["action_type"] in types),
        Decimal(0),
    )


def test_account_and_object_names(meta_sandbox: MetaSandbox, meta_account: AdAccount) -> None:
    info = meta_account.api_get(fields=["name", "currency", "timezone_name", "account_id"])
    truth = meta_sandbox.truth.accounts(META)[0]
    assert (info["name"], info["currency"], info["timezone_name"]) == (
        truth.name,
        truth.currency,
        truth.time_zone,
    )
    assert info["account_id"] == truth.account_id
    structure = meta_sandbox.truth.data.structure(META, truth.account_id)
    campaigns = list(meta_account.get_campaigns(fields=["id", "name"]))
    seed, as_of = meta_sandbox.truth.data.seed, meta_sandbox.truth.resolve_as_of()
    named = {c.campaign_id: history.state(seed, c.campaign_id, c.name, as_of).name for c in structure.campaigns}
    assert {c["id"]: c["name"] for c in campaigns} == named
    assert len(list(meta_account.get_ad_sets(fields=["id", "name"]))) == len(structure.ad_groups)
    ads = list(meta_account.get_ads(fields=["id", "name"], params={"limit": 5}))
    assert len(ads) == len(structure.ads)


def test_sync_insights_page_and_match_truth(meta_sandbox: MetaSandbox, meta_account: AdAccount) -> None:
    rows = list(meta_account.get_insights(fields=FIELDS, params=params(limit=20)))
    account = meta_sandbox.account_ids[0]
    truth = meta_sandbox.truth.totals(META, account, date(2025, 3, 1), date(2025, 3, 7))
    assert len(rows) == truth.rows
    assert meta_sandbox.calls.total(method="insights") == -(-truth.rows // 20)
    assert sum(Decimal(r["spend"]) for r in rows) == truth.cost
    assert sum(int(r["clicks"]) for r in rows) == truth.clicks
    assert conversions(rows) == truth.conversions
    value = sum(Decimal(a["value"]) for r in rows for a in r.get("action_values", []) if a["action_type"] == "purchase")
    assert value == truth.conversion_value
    row = rows[0]
    assert isinstance(row["impressions"], str)
    assert isinstance(row["spend"], str)
    assert row["date_start"] == row["date_stop"] == START
    assert {a["action_type"] for r in rows for a in r.get("actions", [])} >= {"link_click", "purchase"}


def test_levels_and_increments(meta_account: AdAccount) -> None:
    by_campaign = list(
        meta_account.get_insights(fields=["campaign_id", "ad_id", "spend"], params=params(level="campaign"))
    )
    assert by_campaign
    assert all("ad_id" not in r for r in by_campaign)
    total = list(meta_account.get_insights(fields=["spend"], params=params(level="account", time_increment="all_days")))
    assert len(total) == 1
    assert (total[0]["date_start"], total[0]["date_stop"]) == (START, END)
    assert Decimal(total[0]["spend"]) == sum(Decimal(r["spend"]) for r in by_campaign)


def test_async_report_run_over_several_polls(meta_sandbox: MetaSandbox, meta_account: AdAccount) -> None:
    job = meta_account.get_insights(fields=FIELDS, params=params(), is_async=True)
    statuses = []
    for _ in range(10):
        job = job.api_get()
        statuses.append((job["async_status"], job["async_percent_completion"]))
        if job["async_status"] == "Job Completed":
            break
    assert [s for s, _ in statuses] == ["Job Not Started", "Job Running", "Job Completed"]
    assert [p for _, p in statuses] == sorted(p for _, p in statuses)
    rows = list(job.get_result(params={"limit": 30}))
    assert rows == list(meta_account.get_insights(fields=FIELDS, params=params()))
    assert meta_sandbox.calls.total(method="report_run") == 3


def test_failed_async_report_run(meta_sandbox: MetaSandbox, meta_account: AdAccount) -> None:
    meta_sandbox.faults.add(Fault("job_failed", times=1))
    job = meta_account.get_insights(fields=FIELDS, params=params(), is_async=True)
    for _ in range(5):
        job = job.api_get()
    assert job["async_status"] == "Job Failed"
    with pytest.raises(FacebookRequestError) as info:
        list(job.get_result())
    assert info.value.api_error_code() == 100


@pytest.mark.parametrize("code", [4, 17, 613, 80004])
def test_throttling(meta_sandbox: MetaSandbox, meta_account: AdAccount, code: int) -> None:
    meta_sandbox.faults.add(Fault("throttle", params={"code": code}, times=1))
    with pytest.raises(FacebookRequestError) as info:
        meta_account.get_insights(fields=FIELDS, params=params())
    error = info.value
    assert error.api_error_code() == code
    assert error.api_transient_error() is True
    assert error.http_status() == 400
    throttle = json.loads(error.http_headers()["x-fb-ads-insights-throttle"])
    assert throttle["acc_id_util_pct"] == 100
    usage = json.loads(error.http_headers()["x-business-use-case-usage"])
    assert next(iter(usage.values()))[0]["estimated_time_to_regain_access"] > 0
    assert list(meta_account.get_insights(fields=FIELDS, params=params()))  # next call passes


def test_normal_answers_carry_throttle_headers(meta_account: AdAccount) -> None:
    cursor = meta_account.get_insights(fields=["spend"], params=params())
    list(cursor)
    assert "x-fb-ads-insights-throttle" in cursor.headers()


@pytest.mark.parametrize(("kind", "status", "code"), [("internal", 500, 1), ("unavailable", 503, 2)])
def test_server_errors(meta_sandbox: MetaSandbox, meta_account: AdAccount, kind: str, status: int, code: int) -> None:
    meta_sandbox.faults.add(Fault(kind, times=1))
    with pytest.raises(FacebookRequestError) as info:
        meta_account.get_insights(fields=FIELDS, params=params())
    assert (info.value.http_status(), info.value.api_error_code()) == (status, code)


def test_tokens(meta_sandbox: MetaSandbox, meta_account: AdAccount) -> None:
    api = facebook_api(meta_sandbox.base_url, access_token="")
    with pytest.raises(FacebookRequestError) as info:
        AdAccount(meta_sandbox.account_ids[0], api=api).api_get(fields=["name"])
    api._session.requests.close()
    assert info.value.api_error_code() == 190
    assert info.value.api_error_type() == "OAuthException"
    meta_sandbox.faults.add(Fault("revoked"))
    with pytest.raises(FacebookRequestError) as info:
        meta_account.get_insights(fields=FIELDS, params=params())
    assert (info.value.api_error_code(), info.value.api_error_subcode()) == (190, 460)


def test_slow_answer_times_out(meta_sandbox: MetaSandbox) -> None:
    meta_sandbox.faults.add(Fault("slow", times=1, params={"delay_seconds": 1.5}))
    api = facebook_api(meta_sandbox.base_url, timeout=(2, 0.3))
    with pytest.raises(requests.exceptions.ReadTimeout):
        AdAccount(meta_sandbox.account_ids[0], api=api).get_insights(fields=FIELDS, params=params())
    api._session.requests.close()


@pytest.mark.parametrize(
    ("mode", "check"),
    [
        ("negative_cost", lambda row: Decimal(row["spend"]) < 0),
        ("missing_id", lambda row: row["ad_id"] == ""),
        ("non_numeric", lambda row: not row["impressions"].isdigit()),
    ],
)
def test_malformed_rows(meta_sandbox: MetaSandbox, meta_account: AdAccount, mode: str, check: Any) -> None:
    meta_sandbox.faults.add(Fault("malformed", times=1, params={"mode": mode}))
    rows = list(meta_account.get_insights(fields=FIELDS, params=params()))
    assert check(rows[0])
    assert not check(rows[1])


def test_schema_drift_adds_a_key(meta_sandbox: MetaSandbox, meta_account: AdAccount) -> None:
    meta_sandbox.faults.add(Fault("schema_drift", params={"field": "new_metric"}))
    rows = list(meta_account.get_insights(fields=FIELDS, params=params()))
    assert all(r["new_metric"] == "1" for r in rows)


def test_graph_errors(meta_sandbox: MetaSandbox, meta_api: Any, meta_account: AdAccount) -> None:
    with pytest.raises(FacebookRequestError) as info:
        # passed as a parameter: the SDK itself warns about unknown names in `fields=`
        meta_account.get_insights(params=params(fields=["spend", "bogus_metric"]))
    assert info.value.api_error_code() == 100
    assert "bogus_metric" in info.value.api_error_message()
    with pytest.raises(FacebookRequestError) as info:
        AdAccount("act_1", api=meta_api).api_get(fields=["name"])
    assert (info.value.api_error_code(), info.value.api_error_subcode()) == (100, 33)


def test_row_drop_and_spend_spike(meta_sandbox: MetaSandbox, meta_account: AdAccount) -> None:
    account = meta_sandbox.account_ids[0]
    day = date(2025, 3, 2)
    clean = meta_sandbox.truth.day_totals(META, account, day)
    meta_sandbox.faults.add(Fault("row_drop", account=account, day=day))
    meta_sandbox.faults.add(Fault("spend_spike", account=account, day=day + timedelta(1), params={"factor": 8}))
    rows = list(meta_account.get_insights(fields=FIELDS, params=params()))
    per_day: dict[str, list[Any]] = {}
    for row in rows:
        per_day.setdefault(row["date_start"], []).append(row)
    assert len(per_day[str(day)]) <= max(1, clean.rows * 0.35)
    spiked = sum(Decimal(r["spend"]) for r in per_day[str(day + timedelta(1))])
    assert spiked == meta_sandbox.truth.day_totals(META, account, day + timedelta(1)).cost


def test_late_conversions(meta_sandbox: MetaSandbox, meta_account: AdAccount) -> None:
    day = "2025-03-10"
    series = []
    for as_of in ("2025-03-11", "2025-03-20", "2025-04-07", "2025-04-20"):
        meta_sandbox.truth.as_of = date.fromisoformat(as_of)
        rows = list(
            meta_account.get_insights(
                fields=["spend", "actions"],
                params=params(level="account", time_range={"since": day, "until": day}),
            )
        )
        series.append((conversions(rows), rows[0]["spend"]))
    assert [c for c, _ in series] == sorted(c for c, _ in series)
    assert series[0][0] < series[-1][0]
    assert series[2] == series[3]  # 28-day window closed
    meta_sandbox.truth.as_of = date(2025, 3, 9)
    assert (
        list(meta_account.get_insights(fields=["spend"], params=params(time_range={"since": day, "until": day}))) == []
    )


def test_same_seed_same_bytes(meta_sandbox: MetaSandbox) -> None:
    account = meta_sandbox.account_ids[1]
    query = (
        f"/v26.0/{account}/insights?access_token=t&level=ad&time_increment=1&limit=500"
        f"&fields=ad_id,spend,actions&time_range=%7B%22since%22%3A%22{START}%22%2C%22until%22%3A%22{END}%22%7D"
    )
    with MetaSandbox(SandboxConfig(seed=11, as_of=date(2025, 3, 20))) as twin:
        bodies = []
        for base in (meta_sandbox.base_url, twin.base_url):
            with urllib.request.urlopen(base + query, timeout=5) as answer:
                bodies.append(answer.read().replace(base.encode(), b""))
    assert bodies[0] == bodies[1]
    assert json.loads(bodies[0])["data"]


def breakdown_params(**extra: Any) -> dict[str, Any]:
    return params(level="campaign", limit=500) | extra


def test_breakdowns_add_up_to_the_campaigns(meta_account: AdAccount) -> None:
    fields = ["campaign_id", "impressions", "clicks", "spend", "actions"]
    plain = list(meta_account.get_insights(fields=fields, params=breakdown_params()))
    totals = {(r["date_start"], r["campaign_id"]): (int(r["impressions"]), Decimal(r["spend"])) for r in plain}
    for breakdowns in (["country"], ["region"], ["age", "gender"], ["device_platform"], ["publisher_platform"]):
        rows = list(meta_account.get_insights(fields=fields, params=breakdown_params(breakdowns=breakdowns)))
        sums: dict[tuple[str, str], tuple[int, Decimal]] = {}
        for row in rows:
            assert all(row[b] for b in breakdowns)
            key = (row["date_start"], row["campaign_id"])
            impressions, spend = sums.get(key, (0, Decimal(0)))
            sums[key] = (impressions + int(row["impressions"]), spend + Decimal(row["spend"]))
        assert sums == totals, breakdowns
    regions = list(meta_account.get_insights(fields=["spend"], params=breakdown_params(breakdowns=["region"])))
    assert "country" not in regions[0]


def test_attribution_windows_split_the_default_value(meta_account: AdAccount) -> None:
    rows = list(
        meta_account.get_insights(
            fields=["campaign_id", "actions", "action_values"],
            params=breakdown_params(
                action_breakdowns=["action_type"], action_attribution_windows=["1d_click", "7d_click", "1d_view"]
            ),
        )
    )
    entries = [a for r in rows for a in r.get("actions", [])]
    assert entries
    for action in entries:
        assert int(action["7d_click"]) + int(action["1d_view"]) == int(action["value"])
        assert int(action["1d_click"]) <= int(action["7d_click"])
    values = [a for r in rows for a in r.get("action_values", [])]
    assert values
    assert all({"value", "1d_click", "7d_click", "1d_view"} <= set(a) for a in values)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"breakdowns": ["country", "region"]}, "Current combination of data breakdown columns"),
        ({"breakdowns": ["platform_position"]}, "(action_type, platform_position) is invalid"),
        ({"breakdowns": ["placement"]}, "breakdowns[0] must be one of"),
        ({"fields": ["spend", "country"], "breakdowns": ["country"]}, "country is not valid for fields param"),
        ({"action_breakdowns": ["action_kind"]}, "action_breakdowns[0] must be one of"),
        ({"action_attribution_windows": ["2d_click"]}, "action_attribution_windows[0] must be one of"),
    ],
)
def test_what_graph_refuses(meta_sandbox: MetaSandbox, meta_api: Any, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(FacebookRequestError) as info:
        # a raw call: the SDK's own enum checks would only warn before sending
        meta_api.call(
            "GET", (meta_sandbox.account_ids[0], "insights"), params=breakdown_params(fields=["spend"]) | extra
        )
    assert info.value.api_error_code() == 100
    assert message in info.value.api_error_message()


def test_entity_edges_with_fields_and_paging(meta_sandbox: MetaSandbox, meta_account: AdAccount) -> None:
    structure = meta_sandbox.truth.data.structure(META, meta_sandbox.account_ids[0])
    adsets = list(meta_account.get_ad_sets(fields=["id", "daily_budget", "targeting"], params={"limit": 2}))
    assert len(adsets) == len(structure.ad_groups)
    assert all(a["targeting"]["geo_locations"]["countries"] for a in adsets)
    assert any(a.get("daily_budget", "").isdigit() for a in adsets)
    ads = list(meta_account.get_ads(fields=["id", "creative", "status", "effective_status"]))
    creatives = list(meta_account.get_ad_creatives(fields=["id", "url_tags", "object_story_spec", "asset_feed_spec"]))
    assert {a["creative"]["id"] for a in ads} == {c["id"] for c in creatives}
    assert all("{{campaign.name}}" in c["url_tags"] for c in creatives)
    assert all("object_story_spec" in c or "asset_feed_spec" in c for c in creatives)
    with pytest.raises(FacebookRequestError) as info:
        list(meta_account.get_ad_creatives(params={"fields": "id,bogus_field"}))
    assert info.value.api_error_code() == 100
