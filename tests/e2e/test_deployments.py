"""End to end on a real Prefect server, the way users run the pipeline: `up` (what `mdp deploy --local`
runs) deploys every `*-local` deployment of prefect.yaml to a process work pool and starts a worker, twice
(it must be repeatable); flow runs are created through the API as the UI's "Custom run" does, and the
worker runs them: the rerun rebuilds the marts and checks volumes, the dbt and monitoring deployments
complete alone, an API fault and a dbt failure each end Failed, and `down` stops what `up` started."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from deployments.local import LOCAL_DEPLOYMENTS, LOCAL_POOL, LocalStack, alive, down, prefect_env, state_path, up
from mdp.config import PipelineConfig, load_config
from sandbox import Fault
from sandbox.config import SandboxConfig
from sandbox.runner import SandboxHandle, environment_exports, start_sandbox
from tests.e2e.conftest import PrefectServer
from tests.integration.flows.conftest import SlackReceiver

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.filterwarnings("ignore::ResourceWarning")]

AS_OF = dt.date(2026, 3, 1)
START, END = dt.date(2026, 2, 20), dt.date(2026, 2, 26)
RUN_TIMEOUT_SECONDS = 900.0
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "pipeline.yaml"


@dataclass
class Deployed:
    server: PrefectServer
    config: PipelineConfig
    first: LocalStack
    second: LocalStack


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with start_sandbox(
        SandboxConfig(seed=7, google_accounts=2, meta_accounts=2, microsoft_accounts=2, as_of=AS_OF)
    ) as handle:
        yield handle


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackReceiver]:
    receiver = SlackReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory, sandbox: SandboxHandle) -> Path:
    root = tmp_path_factory.mktemp("e2e-project")
    data: dict[str, Any] = {
        "timezone": "Europe/Paris",
        "reporting_currency": "EUR",
        "warehouse": {"type": "duckdb", "path": str(root / "wh.duckdb")},
        "alerts": {"slack_webhook_block": "mdp-e2e-alerts"},
        **sandbox.pipeline_fragment(),
    }
    # the channels these runs were measured with; tiktok_ads and linkedin_ads run in the integration suites
    # (conformance, fault matrix, reconciliation, isolation, the demo)
    data["connectors"] = [c for c in data["connectors"] if c["type"] not in ("tiktok_ads", "linkedin_ads")]
    # the custom streams and passthrough metrics of the project's pipeline.yaml (one stream per channel)
    project = yaml.safe_load(PROJECT_CONFIG.read_text(encoding="utf-8"))
    custom = {c["type"]: {k: v for k, v in c.items() if k.startswith("custom_")} for c in project["connectors"]}
    for section in data["connectors"]:
        section.update(custom[section["type"]])
    data["metrics"] = project["metrics"]
    data["pacing"] = {"targets": [{"channel": "google_ads", "metric": "spend", "value": 100000, "currency": "EUR"}]}
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def deployed(
    prefect_api: PrefectServer, config_path: Path, sandbox: SandboxHandle, slack: SlackReceiver
) -> Iterator[Deployed]:
    """`up` twice against the session's server; the sandbox's secrets reach the worker only through the
    env file `mdp sandbox` writes (this process does not export them)."""
    env_file = config_path.parent / "sandbox.env"
    env_file.write_text("\n".join(environment_exports(sandbox)) + "\n")
    from deployments.local import read_env_file

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_API_URL", prefect_api.api_url)
        mp.setenv("PREFECT_HOME", str(prefect_api.home))
        mp.setenv("PREFECT_WORKER_QUERY_SECONDS", "2")
        env = prefect_env(prefect_api.api_url, prefect_api.home)
        code = "import sys; from prefect_slack import SlackWebhook; SlackWebhook(url=sys.argv[1]).save('mdp-e2e-alerts', overwrite=True)"
        subprocess.run([sys.executable, "-c", code, slack.url], env=env, check=True, timeout=300)
        config = load_config(config_path)
        first = up(config, env=read_env_file(env_file))
        try:
            second = up(config, env=read_env_file(env_file))
        except BaseException:
            down(config)
            raise
        try:
            yield Deployed(prefect_api, config, first, second)
        finally:
            stopped = down(config)
            assert second.worker_pid in stopped
            assert not alive(second.worker_pid)


def run_deployment(deployed: Deployed, name: str, parameters: dict[str, Any]) -> Any:
    """Create a flow run of `name` through the API (as the UI does) and wait until the worker ends it."""

    async def create_and_wait() -> Any:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: deployed.server.api_url}):
            async with get_client() as client:
                deployment = await client.read_deployment_by_name(name)
                run = await client.create_flow_run_from_deployment(deployment.id, parameters=parameters)
                deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
                while time.monotonic() < deadline:
                    current = await client.read_flow_run(run.id)
                    if current.state is not None and current.state.type.value in FINAL_STATES:
                        return current
                    await asyncio.sleep(1)
                return current

    flow_run = asyncio.run(create_and_wait())
    assert flow_run.state.type.value in FINAL_STATES, f"{name} still {flow_run.state.name}:\n{worker_log(deployed)}"
    return flow_run


def worker_log(deployed: Deployed) -> str:
    return (state_path(deployed.config).parent / "prefect-worker.log").read_text(errors="replace")[-4000:]


def query(config_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(config_path.parent / "wh.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_local_deploy_is_repeatable_and_tracks_what_it_started(deployed: Deployed) -> None:
    first, second = deployed.first, deployed.second
    assert first.server_pid is None
    assert second.server_pid is None
    assert second.stopped == (first.worker_pid,)
    assert not alive(first.worker_pid)
    assert alive(second.worker_pid)
    assert LocalStack.load(state_path(deployed.config)) is not None

    async def read() -> Any:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: deployed.server.api_url}):
            async with get_client() as client:
                pools = [p.name for p in await client.read_work_pools()]
                names = [d.name for d in await client.read_deployments()]
                return pools, names

    pools, names = asyncio.run(read())
    assert pools.count(LOCAL_POOL) == 1
    assert sorted(names) == sorted(LOCAL_DEPLOYMENTS)


def test_rerun_deployment_lands_the_range_rebuilds_the_marts_and_checks_volumes(
    deployed: Deployed, config_path: Path, sandbox: SandboxHandle, slack: SlackReceiver
) -> None:
    parameters = {"start_date": START.isoformat(), "end_date": END.isoformat(), "config_path": str(config_path)}
    flow_run = run_deployment(deployed, "daily_pipeline/rerun-local", parameters)
    assert flow_run.state.is_completed(), f"{flow_run.state.message}\n{worker_log(deployed)}"

    assert sandbox.truth is not None
    google = query(
        config_path,
        "SELECT customer_id, date, sum(cost_micros) FROM raw_google_ads.ad_performance GROUP BY ALL ORDER BY ALL",
    )
    expected = sorted(
        (
            account.account_id,
            day,
            sandbox.truth.day_totals("google_ads", account.account_id, day, level="account").cost_micros,
        )
        for account in sandbox.truth.accounts("google_ads")
        for day in (START + dt.timedelta(days=i) for i in range((END - START).days + 1))
    )
    assert google == expected
    # The marts hold every reloaded day of the three channels, with the raw spend.
    marts = query(
        config_path,
        "SELECT channel, date_day, CAST(round(sum(spend), 2) AS DOUBLE) FROM marts.fct_ad_performance_daily "
        "WHERE date_day BETWEEN ? AND ? GROUP BY ALL ORDER BY ALL",
        START,
        END,
    )
    raw = query(
        config_path,
        "SELECT 'google_ads', date, round(sum(cost_micros) / 1e6, 2) FROM raw_google_ads.ad_performance GROUP BY ALL "
        "UNION ALL SELECT 'meta_ads', date, round(sum(spend), 2) FROM raw_meta_ads.ad_insights GROUP BY ALL "
        "UNION ALL SELECT 'microsoft_ads', date, round(sum(spend), 2) FROM raw_microsoft_ads.ad_performance "
        "GROUP BY ALL ORDER BY ALL",
    )
    assert len(marts) == 3 * 7
    assert marts == raw
    # the custom streams hold the sandbox truth: Google's spend by network adds up to each account's spend,
    # Microsoft's to its ad rows'; each has its generated staging view
    by_network = query(
        config_path,
        "SELECT account_id, date, sum(metrics_cost) * 1000000 FROM raw_google_ads.custom_by_network "
        "GROUP BY ALL ORDER BY ALL",
    )
    assert by_network == [(account, day, micros) for account, day, micros in expected]
    ms_by_network = query(
        config_path,
        "SELECT account_id, date, sum(spend) FROM raw_microsoft_ads.custom_campaign_by_network GROUP BY ALL "
        "ORDER BY ALL",
    )
    ms_ads = query(
        config_path,
        "SELECT account_id, date, sum(spend) FROM raw_microsoft_ads.ad_performance GROUP BY ALL ORDER BY ALL",
    )
    assert ms_by_network == ms_ads
    assert len(ms_ads) == 2 * 7
    for raw_table, view in (
        ("raw_google_ads.custom_by_network", "staging.stg_google_ads__custom_by_network"),
        ("raw_meta_ads.custom_actions_by_destination", "staging.stg_meta_ads__custom_actions_by_destination"),
        ("raw_microsoft_ads.custom_campaign_by_network", "staging.stg_microsoft_ads__custom_campaign_by_network"),
    ):
        [(landed,)] = query(config_path, f"SELECT count(*) FROM {raw_table}")
        [(staged,)] = query(config_path, f"SELECT count(*) FROM {view}")
        assert landed == staged > 0, raw_table
    # the passthrough metrics: the raw pt_ columns, summed into the fact per channel
    passthrough = query(
        config_path,
        "SELECT channel, sum(video_views), sum(all_conversions_value), sum(reach) FROM marts.fct_ad_performance_daily "
        "WHERE date_day BETWEEN ? AND ? GROUP BY ALL ORDER BY ALL",
        START,
        END,
    )
    raw_passthrough = query(
        config_path,
        "SELECT 'google_ads', sum(pt_metrics_video_trueview_views), sum(pt_metrics_all_conversions_value), NULL "
        "FROM raw_google_ads.ad_performance UNION ALL SELECT 'meta_ads', sum(pt_video_play_actions), NULL, "
        "sum(pt_reach) FROM raw_meta_ads.ad_insights UNION ALL SELECT 'microsoft_ads', NULL, sum(pt_allrevenue), "
        "NULL FROM raw_microsoft_ads.ad_performance ORDER BY ALL",
    )
    assert passthrough == raw_passthrough
    assert raw_passthrough[0][2] > 0  # Google's all conversions value
    assert raw_passthrough[1][3] > 0  # Meta's reach
    assert raw_passthrough[2][2] > 0  # Microsoft's all revenue
    checks = query(config_path, "SELECT count(*) FROM ops.volume_checks WHERE run_id = ?", str(flow_run.id))
    assert checks[0][0] >= 2 * 2 * 7  # accounts x days, rows and spend at least
    # every account-day of the three channels matches the platforms' own totals, metric by metric
    verdicts = query(
        config_path,
        "SELECT verdict, count(DISTINCT (channel, account_id, date_day)), count(*) FROM marts.reconciliation_daily "
        "WHERE date_day BETWEEN ? AND ? GROUP BY 1",
        START,
        END,
    )
    assert verdicts == [("ok", 3 * 2 * 7, 3 * 2 * 7 * 5)]
    assert "42 account-day(s) reconciled with the platforms' own totals; all within tolerance" in (
        reconciliation_artifact(deployed, flow_run.id)
    )
    # the forecast step wrote both marts for this run: 7 days of history are too few, so every grain is marked
    # insufficient_history with no numbers (never guessed), and the channel target is paced as such
    forecasts = query(
        config_path,
        "SELECT grain, status, count(DISTINCT grain_key), count(spend), max(horizon), min(as_of) "
        "FROM marts.forecast_daily WHERE run_id = ? GROUP BY ALL ORDER BY ALL",
        str(flow_run.id),
    )
    assert [(g, status) for g, status, *_ in forecasts] == [
        ("account", "insufficient_history"),
        ("campaign", "insufficient_history"),
        ("channel", "insufficient_history"),
    ]
    assert forecasts[0][2] == 3 * 2  # accounts of the three channels
    assert forecasts[2][2] == 3
    assert {(values, horizon, as_of) for _, _, _, values, horizon, as_of in forecasts} == {(0, 30, END)}
    pacing = query(
        config_path,
        "SELECT grain_key, metric, basis, verdict, off_pace, projected FROM marts.pacing_monthly WHERE run_id = ?",
        str(flow_run.id),
    )
    assert pacing == [("google_ads", "spend", "target", "insufficient_history", False, None)]
    assert slack.messages == []


def reconciliation_artifact(deployed: Deployed, flow_run_id: Any) -> str:
    """The description of the `reconciliation` artifact a flow run published."""

    async def read() -> str:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: deployed.server.api_url}):
            async with get_client() as client:
                found = await client.read_artifacts(
                    artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["reconciliation"])),
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                )
                return " ".join(a.description or "" for a in found)

    return asyncio.run(read())


def test_rows_missing_server_side_fail_the_deployed_run_naming_them(
    deployed: Deployed, config_path: Path, sandbox: SandboxHandle, slack: SlackReceiver
) -> None:
    """The platform leaves a campaign's rows out of the ad report while its account total counts them: the
    worker's run extracts the account once more, then fails naming account, day, metric and both values."""
    assert sandbox.microsoft is not None
    assert sandbox.truth is not None
    account = sandbox.truth.accounts("microsoft_ads")[0].account_id
    sandbox.microsoft.faults.add(Fault("rows_missing", account=account))
    parameters = {
        "start_date": END.isoformat(),
        "end_date": END.isoformat(),
        "connectors": ["microsoft_ads"],
        "run_monitoring": False,
        "config_path": str(config_path),
    }
    before = len(slack.messages)
    try:
        failed = run_deployment(deployed, "daily_pipeline/rerun-local", parameters)
    finally:
        sandbox.microsoft.faults.clear()
    assert failed.state.is_failed(), f"{failed.state.name}: {failed.state.message}"
    message = str(failed.state.message)
    assert "step reconciliation: failed" in message
    truth = sandbox.truth.day_totals("microsoft_ads", account, END, level="account").cost
    assert re.search(
        rf"microsoft_ads account {account} {END} spend: platform {truth.normalize():f}\S* \w{{3}}, landed", message
    )
    deadline = time.monotonic() + 120
    while len(slack.messages) == before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert f"microsoft_ads account {account} {END} spend" in slack.messages[-1]["text"]


def test_dbt_monitoring_and_forecast_deployments_complete_on_their_own(deployed: Deployed, config_path: Path) -> None:
    for name in ("dbt_build/dbt-local", "volume_monitor/monitor-local", "forecast_pacing/forecast-local"):
        flow_run = run_deployment(deployed, name, {"config_path": str(config_path)})
        assert flow_run.state.is_completed(), f"{name}: {flow_run.state.message}\n{worker_log(deployed)}"


def test_an_api_fault_fails_the_run_and_alerts(
    deployed: Deployed, config_path: Path, sandbox: SandboxHandle, slack: SlackReceiver
) -> None:
    assert sandbox.meta is not None
    assert sandbox.truth is not None
    meta_account = sandbox.truth.accounts("meta_ads")[0]
    sandbox.meta.faults.add(Fault("token_invalid", account=meta_account.account_id))
    parameters = {
        "start_date": START.isoformat(),
        "end_date": END.isoformat(),
        "connectors": ["meta_ads"],
        "run_dbt": False,
        "run_monitoring": False,
        "config_path": str(config_path),
    }
    before = len(slack.messages)  # an earlier test's failure may have posted already
    try:
        failed = run_deployment(deployed, "daily_pipeline/rerun-local", parameters)
    finally:
        sandbox.meta.faults.clear()
    assert failed.state.is_failed()
    assert re.search(r"meta_ads \w+ account", str(failed.state.message))
    # The on-failure hook posts once the Failed state is set: give it time.
    deadline = time.monotonic() + 120
    while len(slack.messages) == before and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1)
    assert len(slack.messages) == before + 1
    assert "Failed: daily_pipeline" in slack.messages[-1]["text"]


def test_an_account_day_the_marts_cannot_convert_fails_the_run_naming_it(
    deployed: Deployed, config_path: Path, sandbox: SandboxHandle
) -> None:
    """Another account's raw rows (not reloaded by this run) in a currency without FX rates: dbt builds the
    marts of everyone else, leaves that account-day out, and the run fails naming it and why."""
    assert sandbox.truth is not None
    reloaded, corrupted = (a.account_id for a in sandbox.truth.accounts("google_ads"))
    with duckdb.connect(str(config_path.parent / "wh.duckdb")) as con:
        con.execute(
            "UPDATE raw_google_ads.ad_performance SET currency_code = 'XXX' WHERE customer_id = ? AND date = ?",
            [corrupted, START],
        )
    parameters = {
        "start_date": START.isoformat(),
        "end_date": END.isoformat(),
        "connectors": ["google_ads"],
        "accounts": [reloaded],
        "run_monitoring": False,
        "config_path": str(config_path),
    }
    flow_run = run_deployment(deployed, "daily_pipeline/rerun-local", parameters)
    message = str(flow_run.state.message)
    assert flow_run.state.is_failed(), f"{flow_run.state.name}: {message}"
    assert "step dbt: failed" not in message, message
    assert f"google_ads account {corrupted} {START} (ad_performance): no FX rate for XXX" in message, message
    with duckdb.connect(str(config_path.parent / "wh.duckdb"), read_only=True) as con:
        left_out = con.execute(
            "SELECT count(*) FROM marts.fct_ad_performance_daily WHERE account_id = ? AND date_day = ?",
            [corrupted, START],
        ).fetchone()
        kept = con.execute(
            "SELECT count(*) FROM marts.fct_ad_performance_daily WHERE account_id = ? AND date_day = ?",
            [reloaded, START],
        ).fetchone()
    assert left_out == (0,)
    assert kept is not None
    assert kept[0] > 0


def test_daily_deployment_carries_its_cron_schedule_and_time_zone(deployed: Deployed) -> None:
    async def read() -> Any:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: deployed.server.api_url}):
            async with get_client() as client:
                return await client.read_deployment_by_name("daily_pipeline/daily-local")

    deployment = asyncio.run(read())
    assert deployment.work_pool_name == LOCAL_POOL
    assert [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules] == [("0 6 * * *", "Europe/Paris")]
    properties = deployment.parameter_openapi_schema["properties"]
    assert properties["start_date"]["anyOf"][0] == {"format": "date", "type": "string"}
    assert "backfill" in properties["start_date"]["description"]
