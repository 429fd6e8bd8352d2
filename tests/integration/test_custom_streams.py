"""Custom streams and passthrough metrics through the daily flow with dbt on the sandboxes, as the project's
pipeline.yaml declares them (one custom stream per channel, three metrics): they land in their raw tables
holding the sandbox's truth, get their generated staging views (tested), the metrics reach the marts; a custom
stream that fails fails the run naming it, shows in `mdp status`, and `--retry-failed` heals it."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from sandbox import Fault, GoogleAdsSandbox, MetaSandbox, MicrosoftAdsSandbox
from tests.integration.test_fault_matrix import SECRETS, write_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_server"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 12)
PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "pipeline.yaml"
CUSTOM = {  # connector -> (its primary stream, its custom stream in pipeline.yaml)
    "google_ads": ("ad_performance", "custom_by_network"),
    "meta_ads": ("ad_insights", "custom_actions_by_destination"),
    "microsoft_ads": ("ad_performance", "custom_campaign_by_network"),
}


def project_config(tmp_path: Path, google: Any, meta: Any, microsoft: Any) -> Path:
    """The fault matrix's configuration of the three sandboxes with the custom streams and metrics of the
    project's pipeline.yaml."""
    path = write_config(tmp_path, google, meta, microsoft)
    data = yaml.safe_load(path.read_text())
    project = yaml.safe_load(PROJECT_CONFIG.read_text(encoding="utf-8"))
    sections = {section["type"]: section for section in project["connectors"]}
    for section in data["connectors"]:
        section.update({k: v for k, v in sections[section["type"]].items() if k.startswith("custom_")})
        section["streams"] = list(CUSTOM[section["type"]])
    data["metrics"] = project["metrics"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(config: Path, **params: Any) -> Any:
    from flows.daily import daily_pipeline

    if "retry_failed" not in params:  # a retry reruns the failed units as they were
        params.update(start_date=START, end_date=END)
    params.setdefault("run_monitoring", False)
    return asyncio.run(daily_pipeline(config_path=str(config), return_state=True, **params))


def query(config: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(config.parent / "wh.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_custom_streams_land_the_truth_and_a_failed_one_is_named_then_healed(
    tmp_path: Path,
    google_sandbox: GoogleAdsSandbox,
    meta_sandbox: MetaSandbox,
    microsoft_sandbox: MicrosoftAdsSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.status import read_status
    from mdp.config import load_config

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config = project_config(tmp_path, google_sandbox, meta_sandbox, microsoft_sandbox)
    broken = microsoft_sandbox.account_ids[0]
    microsoft_sandbox.faults.add(
        Fault("internal", channel="microsoft_ads", account=broken, report="CampaignPerformanceReportRequest")
    )

    state = run(config)
    assert state.is_failed()
    message = str(state.message)
    assert "microsoft_ads" in message
    assert broken in message
    # the other custom streams landed the truth: Google's spend by network adds up to its ad rows' spend
    assert query(
        config,
        "SELECT account_id, date, CAST(sum(metrics_cost) * 1000000 AS BIGINT) FROM raw_google_ads.custom_by_network "
        "GROUP BY ALL ORDER BY ALL",
    ) == query(
        config,
        "SELECT customer_id, date, sum(cost_micros) FROM raw_google_ads.ad_performance GROUP BY ALL ORDER BY ALL",
    )
    # Meta's actions by type and destination add up to the campaign's actions of that type
    [(purchases,)] = query(
        config,
        "SELECT sum(actions) FROM raw_meta_ads.custom_actions_by_destination WHERE action_type = 'purchase'",
    )
    assert purchases > 0
    # the broken account is named by `mdp status`; the other Microsoft account's custom stream landed
    status = read_status(load_config(config), START, END)
    failed = {(a.connector, a.account): a.failed_streams for a in status.accounts if a.failed_streams}
    assert failed == {("microsoft_ads", broken): ["raw_microsoft_ads.custom_campaign_by_network"]}

    microsoft_sandbox.faults.clear()
    healed = run(config, retry_failed="latest")
    assert healed.is_completed(), healed.message
    # Microsoft's spend by network adds up to its ad rows' spend on every account-day
    by_network = query(
        config,
        "SELECT account_id, date, sum(spend) FROM raw_microsoft_ads.custom_campaign_by_network GROUP BY ALL "
        "ORDER BY ALL",
    )
    ads = query(
        config, "SELECT account_id, date, sum(spend) FROM raw_microsoft_ads.ad_performance GROUP BY ALL ORDER BY ALL"
    )
    assert by_network == ads
    assert len(ads) == len(microsoft_sandbox.account_ids) * 3
    # every custom stream's staging view was generated, built and tested: same rows as its raw table
    for connector, (_, stream) in CUSTOM.items():
        [(raw,)] = query(config, f"SELECT count(*) FROM raw_{connector}.{stream}")
        [(staged,)] = query(config, f"SELECT count(*) FROM staging.stg_{connector}__{stream}")
        assert raw == staged > 0, stream
    # the passthrough metrics: summed from the raw pt_ columns per channel, null where a channel lacks one
    marts = query(
        config,
        "SELECT channel, sum(video_views), sum(all_conversions_value), sum(reach) FROM marts.fct_ad_performance_daily "
        "GROUP BY ALL ORDER BY ALL",
    )
    raw = query(
        config,
        "SELECT 'google_ads', sum(pt_metrics_video_trueview_views), sum(pt_metrics_all_conversions_value), NULL "
        "FROM raw_google_ads.ad_performance UNION ALL SELECT 'meta_ads', sum(pt_video_play_actions), NULL, "
        "sum(pt_reach) FROM raw_meta_ads.ad_insights UNION ALL SELECT 'microsoft_ads', NULL, sum(pt_allrevenue), "
        "NULL FROM raw_microsoft_ads.ad_performance ORDER BY ALL",
    )
    assert marts == raw
    assert raw[0][2] > 0  # Google's all conversions value
    assert raw[1][1] > 0  # Meta's video plays
    assert raw[1][3] > 0  # Meta's reach
    assert raw[2][2] > 0  # Microsoft's all revenue
    # reach is not additive: the campaign mart has no such column
    columns = [row[0] for row in query(config, "DESCRIBE marts.mart_campaign_performance_daily")]
    assert "video_views" in columns
    assert "reach" not in columns
