"""The Meta Ads streams beside ad_insights, through the official SDK against the Graph sandbox: breakdown rows
add up to the campaigns' ad-level rows, action_insights' default window equals ad_insights' actions, snapshots
follow the sandbox's clock, one report run per stream and chunk, and the configuration's checks."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from connectors import registry
from connectors.meta_ads.connector import MetaAdsConnector
from connectors.meta_ads.schema import BREAKDOWN_COLUMNS
from flows.ingest import plan_units
from mdp.config import load_config
from mdp.errors import ConfigError, ConnectorError
from sandbox import META, MetaSandbox, history
from sandbox.meta_streams import adset_daily_budget

START, END = dt.date(2025, 3, 1), dt.date(2025, 3, 5)
AS_OF = dt.date(2025, 3, 20)
Make = Callable[..., MetaAdsConnector]
BREAKDOWN_STREAMS = sorted(BREAKDOWN_COLUMNS)
METRICS = ("impressions", "clicks", "spend", "conversions", "conversion_value")


def extract(connector: MetaAdsConnector, stream: str, account: str, start: dt.date, end: dt.date) -> pa.Table:
    """Every batch of one extraction as one table, each checked against the stream's declared schema."""
    spec = connector.stream(stream).table
    tables = []
    for batch in connector.extract(stream, account, start, end):
        assert batch.rows.schema == spec.schema
        assert batch.quarantine == []
        tables.append(batch.rows)
    return pa.concat_tables(tables) if tables else spec.schema.empty_table()


def digits(graph_id: str) -> str:
    return graph_id.removeprefix("act_")


def by_campaign_day(rows: list[dict[str, Any]]) -> dict[tuple[dt.date, str], dict[str, Any]]:
    """Metric sums and actions per type, by (date, campaign)."""
    out: dict[tuple[dt.date, str], dict[str, Any]] = {}
    for row in rows:
        sums = out.setdefault(
            (row["date"], row["campaign_id"]),
            {m: Decimal(0) for m in METRICS} | {"actions": defaultdict(int), "values": defaultdict(Decimal)},
        )
        for metric in METRICS:
            sums[metric] += Decimal(str(row[metric]))
        for item in json.loads(row["actions"] or "[]"):
            sums["actions"][item["action_type"]] += int(item["value"])
        for item in json.loads(row["action_values"] or "[]"):
            sums["values"][item["action_type"]] += Decimal(item["value"])
    for sums in out.values():
        sums["actions"], sums["values"] = dict(sums["actions"]), dict(sums["values"])
    return out


@pytest.mark.parametrize("stream", BREAKDOWN_STREAMS)
def test_breakdown_rows_add_up_to_the_campaigns_ads(
    meta_sandbox: MetaSandbox, make_connector: Make, stream: str
) -> None:
    connector = make_connector(page_limit=100)
    account = digits(meta_sandbox.account_ids[0])
    ads = extract(connector, "ad_insights", account, START, END).to_pylist()
    table = extract(connector, stream, account, START, END)
    rows = table.to_pylist()
    assert rows
    breakdowns = list(BREAKDOWN_COLUMNS[stream])
    keys = [(r["date"], r["campaign_id"], *(r[b] for b in breakdowns)) for r in rows]
    assert len(set(keys)) == len(keys)
    assert by_campaign_day(rows) == by_campaign_day(ads)
    names = {r["campaign_id"]: r["campaign_name"] for r in ads}
    assert {r["campaign_id"]: r["campaign_name"] for r in rows} == names
    for day in {r["date"] for r in rows}:
        truth = meta_sandbox.truth.day_totals(META, account, day, level="campaign")
        spend = sum((r["spend"] for r in rows if r["date"] == day), Decimal(0))
        conversions = sum(r["conversions"] for r in rows if r["date"] == day)
        assert (spend, round(conversions, 6)) == (truth.cost, round(float(truth.conversions), 6))
    values = {b: set(table[b].to_pylist()) for b in breakdowns}
    if stream == "country_insights":
        assert all(re.fullmatch(r"[A-Z]{2}", c) for c in values["country"])
    elif stream == "region_insights":
        assert "country" not in table.schema.names
        assert len(values["region"]) > 3
    elif stream == "platform_insights":
        assert values["publisher_platform"] <= {"facebook", "instagram", "audience_network", "messenger"}
        assert "feed" in values["platform_position"]
    elif stream == "device_insights":
        assert values["device_platform"] == {"mobile_app", "mobile_web", "desktop"}
    else:
        assert values["gender"] == {"female", "male", "unknown"}
        assert values["age"] == {"18-24", "25-34", "35-44", "45-54", "55-64", "65+"}


def test_action_insights_default_window_equals_ad_insights(meta_sandbox: MetaSandbox, make_connector: Make) -> None:
    connector = make_connector()
    account = digits(meta_sandbox.account_ids[1])
    expected = by_campaign_day(extract(connector, "ad_insights", account, START, END).to_pylist())
    rows = extract(connector, "action_insights", account, START, END).to_pylist()
    windows: dict[tuple[dt.date, str, str], dict[str, tuple[float, float | None]]] = defaultdict(dict)
    for row in rows:
        key = (row["date"], row["campaign_id"], row["action_type"])
        assert row["attribution_window"] not in windows[key]
        windows[key][row["attribution_window"]] = (row["actions"], row["action_value"])
    default_counts = {k: int(w["default"][0]) for k, w in windows.items() if w["default"][0]}
    assert default_counts == {
        (day, campaign, t): n for (day, campaign), sums in expected.items() for t, n in sums["actions"].items()
    }
    default_values = {k: Decimal(str(w["default"][1])) for k, w in windows.items() if w["default"][1] is not None}
    assert default_values == {
        (day, campaign, t): v for (day, campaign), sums in expected.items() for t, v in sums["values"].items()
    }
    for found in windows.values():
        assert set(found) == {"default", "1d_click", "7d_click", "1d_view"}
        assert found["7d_click"][0] + found["1d_view"][0] == found["default"][0]
        assert found["1d_click"][0] <= found["7d_click"][0]
    purchases = sum(n for (day, _, t), n in default_counts.items() if t == "purchase")
    assert purchases == meta_sandbox.truth.totals(META, account, START, END).conversions


def test_configured_windows_and_one_report_run_per_stream(meta_sandbox: MetaSandbox, make_connector: Make) -> None:
    connector = make_connector(action_attribution_windows=["28d_click", "default"])
    account = digits(meta_sandbox.account_ids[0])
    rows = extract(connector, "action_insights", account, START, END)
    assert set(rows["attribution_window"].to_pylist()) == {"default", "28d_click"}
    meta_sandbox.calls.reset()
    reports = [s.name for s in connector.streams if s.kind == "report"]
    for stream in reports:
        extract(connector, stream, account, START, END)
    calls = {m: n for (_, m), n in meta_sandbox.calls.snapshot().items()}
    assert calls["insights_async"] == len(reports)  # one run per stream for the chunk, never one per day
    assert "account" not in calls  # the account was read once, by the first extraction


def _find_day(days: list[dt.date], test: Callable[[dt.date], bool]) -> dt.date | None:
    return next((day for day in days if test(day)), None)


def test_snapshots_follow_the_sandbox_clock(meta_sandbox: MetaSandbox, make_connector: Make) -> None:
    truth = meta_sandbox.truth
    seed = truth.data.seed
    days = [AS_OF - dt.timedelta(days=n) for n in range(0, 240)]
    paused = renamed = budget = None
    for graph_id in meta_sandbox.account_ids:
        structure = truth.data.structure(META, graph_id)
        for ad in structure.ads:
            day = _find_day(days, lambda d, ad=ad: history.state(seed, ad.ad_id, ad.name, d).paused)
            if paused is None and day is not None:
                paused = (digits(graph_id), ad, day)
        for c in structure.campaigns:
            now = history.state(seed, c.campaign_id, c.name, AS_OF).name
            day = _find_day(days, lambda d, c=c, now=now: history.state(seed, c.campaign_id, c.name, d).name != now)
            if renamed is None and day is not None:
                renamed = (digits(graph_id), c, day)
        for g in structure.ad_groups:
            day = _find_day(
                days,
                lambda d, g=g: (
                    adset_daily_budget(seed, g.ad_group_id, d) != adset_daily_budget(seed, g.ad_group_id, AS_OF)
                ),
            )
            if (
                budget is None
                and day is not None
                and structure.campaign_by_id[g.campaign_id].channel_type != "OUTCOME_LEADS"
            ):
                budget = (digits(graph_id), g, day)
    assert paused is not None, "the sandbox history pauses an ad"
    assert renamed is not None, "the sandbox history renames a campaign"
    assert budget is not None, "the sandbox history changes an ad set budget"
    connector = make_connector()

    account, ad, day = paused
    truth.as_of = day
    snapshot = {r["id"]: r for r in extract(connector, "ad_snapshot", account, day, day).to_pylist()}
    assert (snapshot[ad.ad_id]["status"], snapshot[ad.ad_id]["effective_status"]) == ("PAUSED", "PAUSED")
    for ad_id, row in snapshot.items():
        assert (row["status"] == "PAUSED") == truth.ad_paused(META, account, ad_id, day)
    assert ad.ad_id not in extract(connector, "ad_insights", account, day, day)["ad_id"].to_pylist()
    active = _find_day(days, lambda d: not history.state(seed, ad.ad_id, ad.name, d).paused)
    assert active is not None
    truth.as_of = active
    assert {r["id"]: r["status"] for r in extract(connector, "ad_snapshot", account, active, active).to_pylist()}[
        ad.ad_id
    ] == "ACTIVE"

    account, campaign, day = renamed
    earlier = day - dt.timedelta(days=3)
    names: list[str] = []
    for as_of in (day, AS_OF):
        truth.as_of = as_of
        name = history.state(seed, campaign.campaign_id, campaign.name, as_of).name
        rows = extract(connector, "campaign_snapshot", account, as_of, as_of).to_pylist()
        assert {r["id"]: r["name"] for r in rows}[campaign.campaign_id] == name
        names.append(name)
        reported = extract(connector, "ad_insights", account, earlier - dt.timedelta(days=2), earlier).to_pylist()
        assert {r["campaign_name"] for r in reported if r["campaign_id"] == campaign.campaign_id} == {name}
    assert names[0] != names[1]  # the same past days, restated under the new name

    account, adset, day = budget
    for as_of in (day, AS_OF):
        truth.as_of = as_of
        rows = {r["id"]: r for r in extract(connector, "adset_snapshot", account, as_of, as_of).to_pylist()}
        assert (
            rows[adset.ad_group_id]["daily_budget"] == Decimal(adset_daily_budget(seed, adset.ad_group_id, as_of)) / 100
        )
        assert rows[adset.ad_group_id]["snapshot_date"] == as_of


def test_creatives_and_ads_agree(meta_sandbox: MetaSandbox, make_connector: Make) -> None:
    connector = make_connector(page_limit=3)
    account = digits(meta_sandbox.account_ids[2])
    ads = extract(connector, "ad_snapshot", account, AS_OF, AS_OF).to_pylist()
    creatives = extract(connector, "creative_snapshot", account, AS_OF, AS_OF).to_pylist()
    structure = meta_sandbox.truth.data.structure(META, account)
    assert {a["id"] for a in ads} == {a.ad_id for a in structure.ads}
    assert {a["creative_id"] for a in ads} == {c["id"] for c in creatives}
    for creative in creatives:
        assert creative["link_url"].startswith("https://")
        assert creative["url_tags"].startswith("utm_source=facebook&utm_medium=paid_social")
        assert creative["title"]
        assert creative["body"]
    adsets = extract(connector, "adset_snapshot", account, AS_OF, AS_OF).to_pylist()
    assert all(json.loads(a["targeting_countries"]) for a in adsets)
    campaigns = extract(connector, "campaign_snapshot", account, AS_OF, AS_OF).to_pylist()
    assert {c["id"] for c in campaigns} == {c.campaign_id for c in structure.campaigns}
    assert all(c["created_time"] is not None and c["created_time"].tzinfo is not None for c in campaigns)


def test_a_snapshot_is_of_one_day(meta_sandbox: MetaSandbox, make_connector: Make) -> None:
    with pytest.raises(ConnectorError, match="a snapshot is of one day"):
        list(make_connector().extract("ad_snapshot", meta_sandbox.account_ids[0], START, END))
    assert meta_sandbox.calls.total() == 0


def test_an_unknown_stream_fails_before_any_call(meta_sandbox: MetaSandbox, make_connector: Make) -> None:
    with pytest.raises(KeyError, match="no stream 'country'"):
        list(make_connector().extract("country", meta_sandbox.account_ids[0], START, END))
    assert meta_sandbox.calls.total() == 0


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "connectors:\n"
        "  - {name: meta, type: meta_ads, graph_url: 'http://127.0.0.1:9', accounts: [act_1, act_2],\n"
        f"     credentials: {{access_token: 'env:NOT_READ'}}{extra}}}\n",
        encoding="utf-8",
    )
    return path


def test_the_streams_selection_is_honoured(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, ", streams: [ad_snapshot, country_insights]"))
    (connector,) = registry.build_connectors(config)
    assert [s.name for s in connector.selected_streams] == ["country_insights", "ad_snapshot"]
    units, skipped = plan_units(connector, ["1", "2"], START, END, END)
    assert skipped == []
    assert sorted({u[0] for u in units}) == ["ad_snapshot", "country_insights"]
    assert ("ad_snapshot", "2", END, END) in units
    every = registry.build_connectors(load_config(_config(tmp_path, "")))[0]
    assert len(every.selected_streams) == len(MetaAdsConnector.streams) == 12


@pytest.mark.parametrize(
    ("windows", "reason"),
    [
        ("[2d_click]", r"unknown attribution window\(s\) \['2d_click'\]; allowed: 1d_click, 7d_click"),
        ("[7d_view]", r"\['7d_view'\] are no longer returned by Meta"),
        ("[]", r"List should have at least 1 item"),
    ],
)
def test_bad_attribution_windows_name_the_key(tmp_path: Path, windows: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        registry.build_connectors(load_config(_config(tmp_path, f", action_attribution_windows: {windows}")))
    message = str(info.value)
    assert "\n" not in message
    assert re.search(r": connectors\[0\]\.action_attribution_windows: " + reason, message)
