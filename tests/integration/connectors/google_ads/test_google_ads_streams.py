"""Every Google Ads stream through the official client on the sandbox: rows load into the declared table, the
breakdowns add up exactly to the ad and campaign totals, snapshots follow the entities' history, one call per
stream, and the stream selection is honoured."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from connectors.base import Extracted
from connectors.google_ads.connector import GoogleAdsConnector
from flows.ingest import plan_units
from sandbox import GOOGLE, GoogleAdsSandbox, history
from tests.integration.connectors.google_ads.conftest import ConnectorFactory
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse

START, END = dt.date(2025, 3, 12), dt.date(2025, 3, 18)
METRICS = ("impressions", "clicks", "cost_micros", "conversions", "conversions_value")
STREAMS = [s.name for s in GoogleAdsConnector.streams]
REPORTS = [s.name for s in GoogleAdsConnector.streams if s.kind == "report"]


def extract(connector: GoogleAdsConnector, stream: str, account: str, start: dt.date, end: dt.date) -> Extracted:
    batches = list(connector.extract(stream, account, start, end))
    rows = pa.concat_tables([b.rows for b in batches])
    return Extracted(rows, [q for b in batches for q in b.quarantine])


def rows_of(
    connector: GoogleAdsConnector, stream: str, account: str, start: dt.date = START, end: dt.date = END
) -> list[dict[str, Any]]:
    result = extract(connector, stream, account, start, end)
    assert result.quarantine == [], stream
    return result.rows.to_pylist()


def sums(
    rows: Iterable[dict[str, Any]], key: tuple[str, ...], metrics: tuple[str, ...] = METRICS
) -> dict[Any, tuple[Any, ...]]:
    """Exact sums of `metrics` per `key` (floats as decimals of their shortest representation)."""
    totals: dict[Any, list[Any]] = defaultdict(lambda: [0] * len(metrics))
    for row in rows:
        group = totals[tuple(row[k] for k in key)]
        for i, metric in enumerate(metrics):
            value = row[metric]
            group[i] += Decimal(str(value)) if isinstance(value, float) else value
    return {k: tuple(v) for k, v in totals.items()}


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> GoogleAdsConnector:
    return make_connector()


@pytest.mark.parametrize("stream", STREAMS)
def test_every_stream_loads_into_its_declared_table(
    stream: str, connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox, tmp_path: Path
) -> None:
    spec = connector.stream(stream)
    start = END if spec.kind == "snapshot" else START
    warehouse = DuckDBWarehouse(tmp_path / "wh.duckdb")
    for account in google_sandbox.account_ids:
        result = extract(connector, stream, account, start, END)
        assert result.rows.schema.equals(spec.table.schema), stream
        assert result.quarantine == []
        warehouse.replace_partitions(
            spec.table, result.rows, Scope.of([account], start, END), LoadContext("google_ads", "run-1"), []
        )
    [(count,)] = warehouse.query(f"SELECT count(*) FROM {spec.table.name}")
    assert count > 0
    for field in spec.table.schema:
        assert spec.table.column_docs.get(field.name), field.name


def test_one_call_per_stream_account_and_chunk_and_geo_names_cached(
    connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox
) -> None:
    account = google_sandbox.account_ids[0]
    for stream in STREAMS:
        google_sandbox.calls.reset()
        spec = connector.stream(stream)
        extract(connector, stream, account, END if spec.kind == "snapshot" else START, END)
        expected = {"ad_performance": 2, "geo_performance": 2}.get(stream, 1)  # ads + campaigns; view + names
        assert google_sandbox.calls.total() == expected, stream
    google_sandbox.calls.reset()
    extract(connector, "geo_performance", account, START - dt.timedelta(days=3), START)
    assert google_sandbox.calls.total() == 1  # the names are cached by the connector


def test_keyword_rows_sum_to_their_ad_groups_ad_rows(
    connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox
) -> None:
    checked = 0
    for account in google_sandbox.account_ids:
        structure = google_sandbox.truth.data.structure(GOOGLE, account)
        search = {c.campaign_id for c in structure.campaigns if c.channel_type == "SEARCH"}
        ads = [r for r in rows_of(connector, "ad_performance", account) if r["row_level"] == "ad"]
        keywords = rows_of(connector, "keyword_performance", account)
        expected = sums((r for r in ads if r["campaign_id"] in search), ("date", "ad_group_id"))
        assert sums(keywords, ("date", "ad_group_id")) == expected
        assert {r["campaign_id"] for r in keywords} <= search
        assert {r["match_type"] for r in keywords} <= {"EXACT", "PHRASE", "BROAD"}
        per_group = defaultdict(set)
        for r in keywords:
            per_group[r["ad_group_id"]].add(r["criterion_id"])
        assert all(3 <= len(c) <= 6 for c in per_group.values())
        checked += len(keywords)
    assert checked > 0


def test_search_terms_sum_to_their_keyword_rows(
    connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox
) -> None:
    account = google_sandbox.account_ids[0]
    keywords = rows_of(connector, "keyword_performance", account)
    terms = rows_of(connector, "search_term_performance", account)
    key = ("date", "ad_group_id", "criterion_id")
    assert sums(terms, key) == sums(keywords, key)
    texts = {r["criterion_id"]: r["keyword_text"] for r in keywords}
    assert all(r["keyword_text"] == texts[r["criterion_id"]] for r in terms)
    per_keyword = defaultdict(set)
    for r in terms:
        per_keyword[(r["date"], r["criterion_id"])].add(r["search_term"])
    assert all(1 <= len(t) <= 4 for t in per_keyword.values())
    assert {r["search_term_status"] for r in terms} <= {"ADDED", "NONE"}


@pytest.mark.parametrize("stream", ["geo_performance", "device_performance"])
def test_geo_and_device_rows_sum_to_the_campaign_totals(
    stream: str, connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox
) -> None:
    for account in google_sandbox.account_ids:
        ads = rows_of(connector, "ad_performance", account)  # ad rows + campaign-level rows: every campaign's total
        rows = rows_of(connector, stream, account)
        assert sums(rows, ("date", "campaign_id")) == sums(ads, ("date", "campaign_id"))
        for day in (START, END):
            truth = google_sandbox.truth.day_totals(GOOGLE, account, day, level="account")
            assert sums(rows, ("date",))[(day,)][:3] == (truth.impressions, truth.clicks, truth.cost_micros)
        if stream == "geo_performance":
            regions = defaultdict(set)
            for r in rows:
                regions[r["campaign_id"]].add((r["country_criterion_id"], r["region_criterion_id"]))
                assert None not in (r["country_code"], r["country_name"], r["region_name"]), r
            assert all(2 <= len(v) <= 5 and 1 <= len({c for c, _ in v}) <= 3 for v in regions.values())
            assert {r["location_type"] for r in rows} <= {"LOCATION_OF_PRESENCE", "AREA_OF_INTEREST"}
            france = [r for r in rows if r["country_criterion_id"] == "2250"]
            assert all((r["country_code"], r["country_name"]) == ("FR", "France") for r in france)
        else:
            assert {r["device"] for r in rows} <= {"MOBILE", "DESKTOP", "TABLET", "CONNECTED_TV", "OTHER"}


def test_conversion_actions_sum_to_the_campaign_conversions(
    connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox
) -> None:
    for account in google_sandbox.account_ids:
        ads = rows_of(connector, "ad_performance", account)
        actions = rows_of(connector, "conversion_action_performance", account)
        key = ("date", "campaign_id")
        campaign = sums(ads, key, ("conversions", "conversions_value", "view_through_conversions"))
        by_action = sums(actions, key, ("conversions", "conversions_value", "all_conversions"))
        for group, (conversions, value, all_conversions) in by_action.items():
            expected_conversions, expected_value, view_through = campaign[group]
            assert (conversions, value) == (expected_conversions, expected_value)
            assert all_conversions == expected_conversions + view_through
        primary = [r for r in actions if r["conversions"] > 0]
        secondary = [r for r in actions if r["conversion_action_name"] in ("Store visit", "Add to cart")]
        assert {r["conversion_action_name"] for r in primary} <= {"Purchase", "Lead form", "Phone call"}
        assert all(r["conversions"] == 0 and r["all_conversions"] > 0 for r in secondary)
        per_campaign = defaultdict(set)
        for r in primary:
            per_campaign[r["campaign_id"]].add(r["conversion_action_id"])
        assert all(2 <= len(v) <= 3 for v in per_campaign.values())


def _changes(sandbox: GoogleAdsSandbox, account: str, before: dt.date, after: dt.date) -> dict[str, int]:
    seed = sandbox.truth.data.seed
    structure = sandbox.truth.data.structure(GOOGLE, account)
    renamed = sum(
        history.state(seed, c.campaign_id, c.name, before).name
        != history.state(seed, c.campaign_id, c.name, after).name
        for c in structure.campaigns
    )
    budget = sum(
        history.state(seed, c.campaign_id, c.name, before).budget_factor
        != history.state(seed, c.campaign_id, c.name, after).budget_factor
        for c in structure.campaigns
    )
    paused = sum(
        history.state(seed, a.ad_id, a.name, before).paused != history.state(seed, a.ad_id, a.name, after).paused
        for a in structure.ads
    )
    return {"renamed": renamed, "budget": budget, "paused": paused}


def test_snapshots_follow_the_history_when_the_sandbox_clock_moves(
    connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox
) -> None:
    account = google_sandbox.account_ids[0]
    before = google_sandbox.truth.as_of
    assert before is not None
    # the first later day on which a campaign is renamed, a budget steps and an ad's pause flips
    after = next(
        before + dt.timedelta(days=n)
        for n in range(1, 400)
        if all(_changes(google_sandbox, account, before, before + dt.timedelta(days=n)).values())
    )
    seed = google_sandbox.truth.data.seed
    structure = google_sandbox.truth.data.structure(GOOGLE, account)
    snapshots: dict[dt.date, dict[str, list[dict[str, Any]]]] = {}
    for as_of in (before, after):
        google_sandbox.truth.as_of = as_of
        snapshots[as_of] = {
            s: rows_of(connector, s, account, as_of, as_of) for s in ("campaign_snapshot", "ad_snapshot")
        }
        reported = {
            r["campaign_id"]: r["campaign_name"] for r in rows_of(connector, "ad_performance", account, START, END)
        }
        for row in snapshots[as_of]["campaign_snapshot"]:
            campaign = structure.campaign_by_id[row["campaign_id"]]
            assert row["snapshot_date"] == as_of
            assert row["campaign_name"] == history.state(seed, campaign.campaign_id, campaign.name, as_of).name
            # reports name every past day's entity as it is on the "as of" date, like the API
            assert reported.get(row["campaign_id"], row["campaign_name"]) == row["campaign_name"]
        for row in snapshots[as_of]["ad_snapshot"]:
            ad = structure.ad_by_id[row["ad_id"]]
            paused = history.state(seed, ad.ad_id, ad.name, as_of).paused
            assert (row["ad_status"] == "PAUSED") == paused
            # paused on the snapshot day exactly when the sandbox serves no metrics for it that day
            served = {r.ad_id for r in google_sandbox.truth.records(GOOGLE, account, as_of, as_of)}
            if paused:
                assert ad.ad_id not in served
    old, new = snapshots[before], snapshots[after]
    assert {r["campaign_name"] for r in old["campaign_snapshot"]} != {
        r["campaign_name"] for r in new["campaign_snapshot"]
    }
    old_budgets = {r["campaign_id"]: r["budget_amount_micros"] for r in old["campaign_snapshot"]}
    assert any(old_budgets[r["campaign_id"]] != r["budget_amount_micros"] for r in new["campaign_snapshot"])
    old_status = {r["ad_id"]: r["ad_status"] for r in old["ad_snapshot"]}
    assert any(old_status[r["ad_id"]] != r["ad_status"] for r in new["ad_snapshot"])


def test_snapshot_rows_describe_the_entities(connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox) -> None:
    account = google_sandbox.account_ids[0]
    structure = google_sandbox.truth.data.structure(GOOGLE, account)
    campaigns = rows_of(connector, "campaign_snapshot", account, END, END)
    assert sorted(r["campaign_id"] for r in campaigns) == sorted(c.campaign_id for c in structure.campaigns)
    assert all(r["budget_amount_micros"] > 0 and r["budget_period"] == "DAILY" for r in campaigns)
    assert all(r["start_date"] < END < r["end_date"] for r in campaigns)
    groups = rows_of(connector, "ad_group_snapshot", account, END, END)
    assert sorted(r["ad_group_id"] for r in groups) == sorted(g.ad_group_id for g in structure.ad_groups)
    ads = rows_of(connector, "ad_snapshot", account, END, END)
    assert sorted(r["ad_id"] for r in ads) == sorted(a.ad_id for a in structure.ads)
    for ad in ads:
        assert ad["final_url"].startswith("https://www.")
        assert "utm_source=google&utm_medium=cpc&utm_campaign=" in ad["final_url"]
        assert f"utm_content={ad['ad_id']}" in ad["final_url"]
        assert ad["final_urls"] == f'["{ad["final_url"]}"]'
    [customer] = rows_of(connector, "customer_snapshot", account, END, END)
    assert (customer["customer_id"], customer["manager"], customer["status"]) == (account, False, "ENABLED")
    with pytest.raises(ValueError, match="snapshot"):
        extract(connector, "campaign_snapshot", account, START, END)


def test_unknown_stream_fails_before_any_call(connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox) -> None:
    with pytest.raises(KeyError, match="no stream 'keywords'"):
        list(connector.extract("keywords", google_sandbox.account_ids[0], START, END))
    assert google_sandbox.calls.total() == 0


def test_the_streams_selection_is_honoured(make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox) -> None:
    connector = make_connector(streams=["geo_performance", "campaign_snapshot"])
    assert [s.name for s in connector.selected_streams] == ["geo_performance", "campaign_snapshot"]
    accounts = google_sandbox.account_ids[:1]
    units, skipped = plan_units(connector, accounts, START, END, END)
    assert {u[0] for u in units} == {"geo_performance", "campaign_snapshot"}
    assert ("campaign_snapshot", accounts[0], END, END) in units
    assert skipped == []
    _, skipped = plan_units(connector, accounts, START, END, None)
    assert skipped == ["campaign_snapshot"]
    assert [s.name for s in make_connector().selected_streams] == STREAMS
