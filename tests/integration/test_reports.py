"""Every stream of every channel from the sandbox, through the daily flow and dbt, into every report.

One module-scoped scenario: a first daily run (snapshots dated its last day), the same run again (raw
tables must not change), then a run a few days later with the sandbox's clock moved (entities renamed,
paused, budgets changed). The reports must be non-empty, add up to the account report (checked here in
SQL of our own, beside dbt's reconciliation tests), and the SCD2 history must follow the raw snapshots.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from flows.transform import source_tables
from mdp.schema import EXTRACTED_AT, LOADED_AT, RUN_ID
from sandbox import GoogleAdsSandbox, MetaSandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_server"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

FIRST_RUN = dt.date(2025, 3, 14)  # loads 03-06 .. 03-13, snapshots dated 03-13
LATER_RUN = dt.date(2025, 3, 20)  # loads 03-13 .. 03-19, snapshots dated 03-19
SECRETS = {
    "MDP_RP_GOOGLE_DEVELOPER_TOKEN": "rp-dev-token-5a1c7e9b3d",  # pragma: allowlist secret
    "MDP_RP_GOOGLE_ACCESS_TOKEN": "rp-access-token-8f2d4b6a0c",  # pragma: allowlist secret
    "MDP_RP_META_ACCESS_TOKEN": "EAABrp" + "9c3e7a1f5b2d" * 2,  # pragma: allowlist secret
}
OTHER_MARTS = [
    "account_report",
    "keyword_report",
    "search_term_report",
    "conversions_by_action_report",
    "dim_campaign_history",
    "dim_ad_group_history",
    "dim_ad_history",
]
SPEND_REPORTS = [
    "campaign_report",
    "ad_group_report",
    "ad_report",
    "url_report",
    "country_report",
    "region_report",
    "device_report",
    "platform_report",
    "age_gender_report",
]


def write_config(tmp_path: Path, google: GoogleAdsSandbox, meta: MetaSandbox) -> Path:
    data = {
        "timezone": "Europe/Paris",
        "warehouse": {"type": "duckdb", "path": str(tmp_path / "wh.duckdb")},
        "connectors": [
            {
                "name": "google_ads",
                "type": "google_ads",
                "endpoint": google.endpoint,
                "login_customer_id": google.manager_id,
                "accounts": google.account_ids,
                "lookback_days": 7,
                "credentials": {
                    "developer_token": "env:MDP_RP_GOOGLE_DEVELOPER_TOKEN",
                    "access_token": "env:MDP_RP_GOOGLE_ACCESS_TOKEN",
                },
            },
            {
                "name": "meta_ads",
                "type": "meta_ads",
                "graph_url": meta.base_url,
                "accounts": meta.account_ids,
                "lookback_days": 7,
                "poll_initial_seconds": 0.01,
                "poll_max_seconds": 0.05,
                "credentials": {"access_token": "env:MDP_RP_META_ACCESS_TOKEN"},
            },
        ],
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(config: Path, run_date: dt.date, **options: Any) -> Any:
    from flows.daily import daily_pipeline

    state = asyncio.run(
        daily_pipeline(config_path=str(config), run_date=run_date, run_monitoring=False, return_state=True, **options)
    )
    assert state.is_completed(), state.message
    return state


def raw_tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every raw table of the scenario's channels (Google Ads and Meta: Microsoft's every stream is covered by
    tests/integration/connectors/microsoft_ads) without the load metadata, sorted."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for spec in (s for t in ("google_ads", "meta_ads") for s in source_tables()[t]):
            columns = ", ".join(f'"{c}"' for c in spec.schema.names if c not in (RUN_ID, EXTRACTED_AT, LOADED_AT))
            out[spec.name] = sorted(con.execute(f"SELECT {columns} FROM {spec.name}").fetchall(), key=repr)
    return out


@pytest.fixture(scope="module")
def scenario(
    tmp_path_factory: pytest.TempPathFactory, _google_server: GoogleAdsSandbox, _meta_server: MetaSandbox
) -> Iterator[dict[str, Any]]:
    mp = pytest.MonkeyPatch()
    for name, value in SECRETS.items():
        mp.setenv(name, value)
    tmp_path = tmp_path_factory.mktemp("reports")
    config = write_config(tmp_path, _google_server, _meta_server)
    warehouse = tmp_path / "wh.duckdb"
    servers = (_google_server, _meta_server)
    try:
        for server in servers:
            server.faults.clear()
            server.truth.as_of = FIRST_RUN
        run(config, FIRST_RUN)
        first = raw_tables(warehouse)
        run(config, FIRST_RUN, run_dbt=False)
        again = raw_tables(warehouse)
        for server in servers:
            server.truth.as_of = LATER_RUN
        run(config, LATER_RUN)
        yield {"warehouse": warehouse, "first": first, "again": again}
    finally:
        for server in servers:
            server.truth.as_of = dt.date(2025, 3, 20)
        mp.undo()


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_stream_landed_and_a_rerun_changes_no_raw_row(scenario: dict[str, Any]) -> None:
    first, again = scenario["first"], scenario["again"]
    empty = [name for name, rows in first.items() if not rows]
    assert not empty, f"streams that loaded nothing: {empty}"
    changed = [name for name in first if first[name] != again[name]]
    assert not changed, f"rerunning the same window changed {changed}"


def test_every_report_has_rows_and_adds_up_to_the_account_report(scenario: dict[str, Any]) -> None:
    path = scenario["warehouse"]
    counts = {name: query(path, f"SELECT count(*) FROM marts.{name}")[0][0] for name in [*SPEND_REPORTS, *OTHER_MARTS]}
    assert all(counts.values()), counts
    for report in SPEND_REPORTS:
        differences = query(
            path,
            f"""
            WITH ours AS (SELECT channel, account_id, date_day, sum(spend_reporting) AS spend
                          FROM marts.{report} GROUP BY ALL),
                 theirs AS (SELECT channel, account_id, date_day, sum(spend_reporting) AS spend
                            FROM marts.account_report GROUP BY ALL)
            SELECT theirs.*, ours.spend FROM theirs LEFT JOIN ours USING (channel, account_id, date_day)
            WHERE ours.spend IS NULL AND ('{report}' NOT IN ('platform_report', 'age_gender_report')
                                          OR theirs.channel = 'meta_ads')
               OR abs(ours.spend - theirs.spend) > 0.005
            """,
        )
        assert not differences, f"{report} does not add up to account_report: {differences[:3]}"
    for report in ("search_term_report", "conversions_by_action_report", "keyword_report"):
        unnamed = query(path, f"SELECT count(*) FROM marts.{report} WHERE campaign_name IS NULL")
        assert unnamed == [(0,)], f"{report}: campaigns without a name"
    assert query(path, "SELECT count(*) FROM marts.search_term_report WHERE ad_group_name IS NULL") == [(0,)]
    channels = dict(query(path, "SELECT channel, count(*) FROM marts.country_report GROUP BY 1"))
    assert set(channels) == {"google_ads", "meta_ads"}


def test_keywords_and_search_terms_cover_the_search_ad_groups(scenario: dict[str, Any]) -> None:
    path = scenario["warehouse"]
    keyword_groups = query(
        path,
        """
        SELECT k.date_day, k.ad_group_id, sum(k.spend_reporting), max(g.spend_reporting)
        FROM marts.keyword_report k JOIN marts.ad_group_report g USING (channel, account_id, date_day, ad_group_id)
        GROUP BY ALL HAVING abs(sum(k.spend_reporting) - max(g.spend_reporting)) > 0.005
        """,
    )
    assert not keyword_groups, keyword_groups[:3]
    terms = query(
        path,
        """
        SELECT count(*) FROM (
            SELECT channel, account_id, date_day, ad_group_id, keyword_id, sum(spend_reporting) AS spend
            FROM marts.search_term_report GROUP BY ALL
        ) t JOIN (
            SELECT channel, account_id, date_day, ad_group_id, keyword_id, sum(spend_reporting) AS spend
            FROM marts.keyword_report GROUP BY ALL
        ) k USING (channel, account_id, date_day, ad_group_id, keyword_id)
        WHERE abs(t.spend - k.spend) > 0.005
        """,
    )
    assert terms == [(0,)]


def test_landing_pages_carry_their_utm_parameters_on_both_channels(scenario: dict[str, Any]) -> None:
    rows = query(
        scenario["warehouse"],
        """
        SELECT channel, count(*) FILTER (WHERE utm_source IS NOT NULL), count(*) FILTER (WHERE url_host IS NOT NULL)
        FROM marts.url_report WHERE final_url <> '(not set)' GROUP BY 1 ORDER BY 1
        """,
    )
    assert [r[0] for r in rows] == ["google_ads", "meta_ads"]
    assert all(tagged > 0 and hosts > 0 for _, tagged, hosts in rows), rows
    unresolved = query(scenario["warehouse"], "SELECT count(*) FROM marts.url_report WHERE final_url LIKE '%{{%'")
    assert unresolved == [(0,)], "Meta dynamic URL parameters must be filled in"


def test_google_conversions_by_action_add_up_to_the_campaigns(scenario: dict[str, Any]) -> None:
    rows = query(
        scenario["warehouse"],
        """
        SELECT count(*) FROM (
            SELECT channel, account_id, date_day, campaign_id, sum(conversions) AS conversions
            FROM marts.conversions_by_action_report WHERE channel = 'google_ads' GROUP BY ALL
        ) a JOIN marts.campaign_report c USING (channel, account_id, date_day, campaign_id)
        WHERE abs(a.conversions - c.conversions) > 0.001
        """,
    )
    assert rows == [(0,)]
    windows = {
        r[0]
        for r in query(
            scenario["warehouse"],
            "SELECT DISTINCT attribution_window FROM marts.conversions_by_action_report WHERE channel = 'meta_ads'",
        )
    }
    assert {"default", "1d_click", "7d_click", "1d_view"} <= windows


@pytest.mark.parametrize(
    ("history", "snapshot_tables", "key", "attributes"),
    [
        (
            "dim_ad_history",
            {"google_ads": "raw_google_ads.ad_snapshot", "meta_ads": "raw_meta_ads.ad_snapshot"},
            {"google_ads": "ad_id", "meta_ads": "id"},
            {"google_ads": "ad_name, ad_status", "meta_ads": "name, status"},
        ),
        (
            "dim_campaign_history",
            {"google_ads": "raw_google_ads.campaign_snapshot", "meta_ads": "raw_meta_ads.campaign_snapshot"},
            {"google_ads": "campaign_id", "meta_ads": "id"},
            {"google_ads": "campaign_name, budget_amount_micros", "meta_ads": "name, daily_budget"},
        ),
    ],
)
def test_history_has_a_version_per_change_seen_in_the_snapshots(
    scenario: dict[str, Any],
    history: str,
    snapshot_tables: dict[str, str],
    key: dict[str, str],
    attributes: dict[str, str],
) -> None:
    path = scenario["warehouse"]
    id_column = history.removeprefix("dim_").removesuffix("_history") + "_id"
    changed_total = 0
    for channel, table in snapshot_tables.items():
        # entities whose watched attributes differ between the two snapshot days
        changed = {
            r[0]
            for r in query(
                path,
                f"SELECT {key[channel]} FROM {table} GROUP BY 1 HAVING count(DISTINCT ({attributes[channel]})) > 1",
            )
        }
        versions = dict(
            query(path, f"SELECT {id_column}, count(*) FROM marts.{history} WHERE channel = '{channel}' GROUP BY 1")
        )
        assert versions, f"{history}: no {channel} rows"
        assert changed <= {e for e, n in versions.items() if n > 1}, f"{history}: a change seen in {table} is missing"
        assert set(versions.values()) <= {1, 2}, "two snapshot days give at most two versions"
        changed_total += len(changed)
        current = query(path, f"SELECT count(*) FROM marts.{history} WHERE channel = '{channel}' AND is_current")
        assert current == [(len(versions),)], "one current version per entity"
    assert changed_total > 0, "the sandbox history should change some entity in six days"


def test_the_html_report_shows_the_breakdowns_an_analyst_opens_first(scenario: dict[str, Any], tmp_path: Path) -> None:
    from flows.report import write_report
    from mdp.config import config_from_mapping

    config = config_from_mapping({"warehouse": {"type": "duckdb", "path": str(scenario["warehouse"])}})
    page = write_report(config, tmp_path / "report.html").read_text(encoding="utf-8")
    for key in ("keywords", "search_terms", "countries", "devices", "placements", "conversion_actions"):
        start = page.index(f'data-breakdown="{key}"')
        table = page[start : page.index("</figure>", start)]
        assert table.count('<th scope="row"') >= 3, f"{key}: too few rows"
        assert "no rows in" not in table
    devices = page[page.index('data-breakdown="devices"') :]
    assert "mobile" in devices[: devices.index("</figure>")]
