"""End to end on a real Prefect server: deploy from prefect.yaml to a process work pool, trigger the
rerun deployment with parameters through the API (as the UI does), let a worker run it, and check the
warehouse; then a run with a sandbox fault ends Failed and Slack is told."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from deployments.local import LOCAL_POOL, deploy, ensure_pool, prefect_env, start_worker
from mdp.config import load_config
from sandbox import Fault
from sandbox.config import SandboxConfig
from sandbox.runner import SANDBOX_SECRETS, SandboxHandle, start_sandbox
from tests.e2e.conftest import PrefectServer
from tests.integration.flows.conftest import SlackReceiver

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.filterwarnings("ignore::ResourceWarning")]

AS_OF = dt.date(2026, 3, 1)
START, END = dt.date(2026, 2, 20), dt.date(2026, 2, 26)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with start_sandbox(SandboxConfig(seed=7, google_accounts=2, meta_accounts=2, as_of=AS_OF)) as handle:
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
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def deployed(prefect_api: PrefectServer, config_path: Path, slack: SlackReceiver) -> PrefectServer:
    env = prefect_env(prefect_api.api_url, prefect_api.home)
    code = "import sys; from prefect_slack import SlackWebhook; SlackWebhook(url=sys.argv[1]).save('mdp-e2e-alerts', overwrite=True)"
    subprocess.run([sys.executable, "-c", code, slack.url], env=env, check=True, timeout=120)
    ensure_pool(prefect_api.api_url, prefect_api.home)
    deploy(load_config(config_path), prefect_api.api_url, prefect_api.home, names=("daily-local", "rerun-local"))
    return prefect_api


@pytest.fixture(scope="module", autouse=True)
def sandbox_secrets() -> Iterator[None]:
    """The worker's flow runs read the sandbox's credentials from the environment it inherits."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in SANDBOX_SECRETS.items():
            mp.setenv(key, value)
        yield


def run_deployment(server: PrefectServer, parameters: dict[str, Any]) -> Any:
    """Create a flow run of daily_pipeline/rerun-local as the UI's "Custom run" does; a worker runs it."""

    async def create_and_wait() -> Any:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: server.api_url}):
            return await _create_and_wait(get_client)

    async def _create_and_wait(get_client: Any) -> Any:
        async with get_client() as client:
            deployment = await client.read_deployment_by_name("daily_pipeline/rerun-local")
            run = await client.create_flow_run_from_deployment(deployment.id, parameters=parameters)
            worker = start_worker(server.api_url, server.log_dir, server.home, run_once=True)
            try:
                await asyncio.to_thread(worker.wait, 600)
            finally:
                if worker.poll() is None:
                    worker.kill()
            return await client.read_flow_run(run.id)

    return asyncio.run(create_and_wait())


def test_rerun_deployment_lands_the_range_then_a_fault_fails_and_alerts(
    deployed: PrefectServer, config_path: Path, sandbox: SandboxHandle, slack: SlackReceiver
) -> None:
    parameters = {
        "start_date": START.isoformat(),
        "end_date": END.isoformat(),
        "run_dbt": False,
        "run_monitoring": False,
        "config_path": str(config_path),
    }
    flow_run = run_deployment(deployed, parameters)
    assert flow_run.state.is_completed(), (
        f"{flow_run.state.name}: {flow_run.state.message}\n{(deployed.log_dir / 'prefect-worker.log').read_text()[-3000:]}"
    )
    assert sandbox.truth is not None
    with duckdb.connect(str(config_path.parent / "wh.duckdb"), read_only=True) as con:
        google = con.execute(
            "SELECT customer_id, date, sum(cost_micros) FROM raw_google_ads.ad_performance GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        meta_days = con.execute("SELECT count(DISTINCT (account_id, date)) FROM raw_meta_ads.ad_insights").fetchone()
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
    assert meta_days == (2 * 7,)
    assert slack.messages == []

    assert sandbox.meta is not None
    meta_account = sandbox.truth.accounts("meta_ads")[0]
    sandbox.meta.faults.add(Fault("token_invalid", account=meta_account.account_id))
    try:
        failed = run_deployment(deployed, parameters)
    finally:
        sandbox.meta.faults.clear()
    assert failed.state.is_failed()
    assert "meta_ads account" in failed.state.message
    assert len(slack.messages) == 1
    assert "Failed: daily_pipeline" in slack.messages[0]["text"]


def test_daily_deployment_carries_its_cron_schedule_and_time_zone(deployed: PrefectServer) -> None:
    async def read() -> Any:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: deployed.api_url}):
            async with get_client() as client:
                return await client.read_deployment_by_name("daily_pipeline/daily-local")

    deployment = asyncio.run(read())
    assert deployment.work_pool_name == LOCAL_POOL
    assert [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules] == [("0 6 * * *", "Europe/Paris")]
    properties = deployment.parameter_openapi_schema["properties"]
    assert properties["start_date"]["anyOf"][0] == {"format": "date", "type": "string"}
    assert "backfill" in properties["start_date"]["description"]
