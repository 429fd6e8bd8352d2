"""The fields issue #29 names as the most requested, each added by configuration only: the configuration below
validates without an API call and gives the streams, columns and metrics a user expects (the sandbox extracts
them in the connectors' integration tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.kit.custom import CustomStream
from connectors.registry import build_connectors
from flows.dbt_custom import custom_dbt
from mdp.config import load_config

CONFIG = """
connectors:
  - name: google_ads
    type: google_ads
    endpoint: "127.0.0.1:50051"
    login_customer_id: "6627642313"
    accounts: ["9874285372"]
    credentials: {developer_token: env:GOOGLE_ADS_DEVELOPER_TOKEN, access_token: env:GOOGLE_ADS_ACCESS_TOKEN}
    custom_queries:
      - {name: by_network, query: "SELECT segments.ad_network_type, metrics.cost_micros FROM campaign"}
      - name: by_conversion_category
        query: "SELECT segments.conversion_action_category, metrics.conversions, metrics.conversions_value FROM campaign"
      - name: value_by_conversion_date
        query: "SELECT metrics.all_conversions_value_by_conversion_date FROM campaign"
  - name: meta_ads
    type: meta_ads
    graph_url: "http://127.0.0.1:8700"
    accounts: [act_844772136928080]
    credentials: {access_token: env:META_ACCESS_TOKEN}
    custom_insights:
      - {name: actions_by_device, fields: [actions], action_breakdowns: [action_type, action_device]}
      - name: actions_by_destination
        fields: [actions, action_values]
        action_breakdowns: [action_type, action_destination]
      - name: video_watched
        fields: [video_p25_watched_actions, video_p50_watched_actions, video_p75_watched_actions,
                 video_p100_watched_actions]
      - {name: campaign_reach, level: campaign, fields: [reach, frequency, impressions]}
  - name: microsoft_ads
    type: microsoft_ads
    endpoint: "http://127.0.0.1:8701"
    token_url: "http://127.0.0.1:8701/common/oauth2/v2.0/token"
    customer_id: "364017058"
    accounts: ["666052802"]
    credentials: {refresh_token: env:A, client_id: env:B, developer_token: env:C}
    custom_reports:
      - {name: campaign_by_network, report_type: CampaignPerformance, aggregation: Daily,
         columns: [CampaignId, Network, Spend, Clicks]}
metrics:
  - {name: video_views, kind: integer, sources: {google_ads: metrics.video_trueview_views}}
  - {name: late_value, kind: money, sources: {google_ads: metrics.all_conversions_value_by_conversion_date}}
"""


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CustomStream]:
    path = tmp_path_factory.mktemp("examples") / "pipeline.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    config = load_config(path)
    connectors = build_connectors(config)
    assert len(custom_dbt(config, connectors).models) == 8
    return {s.table.name: s for c in connectors for s in c.streams if isinstance(s, CustomStream)}


@pytest.mark.parametrize(
    ("table", "dimensions", "metrics"),
    [
        ("raw_google_ads.custom_by_network", ["campaign_id", "segments_ad_network_type"], ["metrics_cost"]),
        (
            "raw_google_ads.custom_by_conversion_category",
            ["campaign_id", "segments_conversion_action_category"],
            ["metrics_conversions", "metrics_conversions_value"],
        ),
        (
            "raw_google_ads.custom_value_by_conversion_date",
            ["campaign_id"],
            ["metrics_all_conversions_value_by_conversion_date"],
        ),
        ("raw_meta_ads.custom_actions_by_device", ["ad_id", "action_type", "action_device"], ["actions"]),
        (
            "raw_meta_ads.custom_actions_by_destination",
            ["ad_id", "action_type", "action_destination"],
            ["actions", "action_values"],
        ),
        (
            "raw_meta_ads.custom_video_watched",
            ["ad_id", "action_type"],
            [
                "video_p25_watched_actions",
                "video_p50_watched_actions",
                "video_p75_watched_actions",
                "video_p100_watched_actions",
            ],
        ),
        ("raw_meta_ads.custom_campaign_reach", ["campaign_id"], ["reach", "frequency", "impressions"]),
        (
            "raw_microsoft_ads.custom_campaign_by_network",
            ["campaign_id", "network"],
            ["spend", "clicks"],
        ),
    ],
)
def test_each_requested_field_is_configuration_only(
    streams: dict[str, CustomStream], table: str, dimensions: list[str], metrics: list[str]
) -> None:
    stream = streams[table]
    got_dimensions = [c.name for c in stream.columns if c.role == "dimension"]
    got_metrics = [c.name for c in stream.columns if c.role == "metric"]
    assert set(dimensions) <= set(got_dimensions), got_dimensions
    assert set(metrics) <= set(got_metrics), got_metrics


def test_reach_and_frequency_are_not_additive_and_money_is_decimal(streams: dict[str, CustomStream]) -> None:
    reach = {c.name: c for c in streams["raw_meta_ads.custom_campaign_reach"].columns}
    assert not reach["reach"].additive
    assert not reach["frequency"].additive
    assert reach["impressions"].additive
    cost = {c.name: c for c in streams["raw_google_ads.custom_by_network"].columns}["metrics_cost"]
    assert cost.money
    assert str(cost.type).startswith("decimal")


def test_the_passthrough_fields_land_on_googles_ad_performance(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    google = build_connectors(load_config(path), ["google_ads"])[0]
    assert {"pt_metrics_video_trueview_views", "pt_metrics_all_conversions_value_by_conversion_date"} <= set(
        google.table.schema.names
    )
