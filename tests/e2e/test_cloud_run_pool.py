"""The deploy workflow's Cloud Run commands against a real Prefect server on loopback: the pool is created
from `python -m deployments.cloud_run`, `prefect deploy` registers the four `*-cloud-run` deployments (the
server validates their job variables against the pool's schema), a flow run of each is accepted (required
variables enforced), and the server refuses a deployment whose job variables Cloud Run could not run.
Nothing here reaches Google: no worker polls this pool. Everything is deleted again, so the other e2e
tests of the session see only their own pool and deployments."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from typing import Any

import pytest

from deployments.cloud_run import CLOUD_RUN_POOL, CLOUD_RUN_WORKER_TYPE
from deployments.local import prefect_env
from mdp.paths import PROJECT_ROOT
from tests.e2e.conftest import PrefectServer
from tests.integration.test_cloud_run_deployments import DEPLOY_ENV, IMAGE

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NAMES = (
    "daily-cloud-run",
    "rerun-cloud-run",
    "ingest-cloud-run",
    "dbt-cloud-run",
    "monitor-cloud-run",
    "forecast-cloud-run",
)


def prefect(server: PrefectServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**prefect_env(server.api_url, server.home), **DEPLOY_ENV}
    return subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_cloud_run_pool_and_deployments_are_accepted_by_a_prefect_server(
    prefect_api: PrefectServer, tmp_path: Any
) -> None:
    template = tmp_path / "cloud-run-template.json"
    written = subprocess.run(
        [sys.executable, "-m", "deployments.cloud_run"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    template.write_text(written.stdout, encoding="utf-8")
    try:
        for _ in range(2):  # the workflow runs on every push: creating the pool again must update it
            created = prefect(
                prefect_api, "work-pool", "create", CLOUD_RUN_POOL, "--type", CLOUD_RUN_WORKER_TYPE,
                "--base-job-template", str(template), "--overwrite",
            )  # fmt: skip
            assert created.returncode == 0, (created.stdout + created.stderr)[-2000:]
        deployed = prefect(prefect_api, "--no-prompt", "deploy", *(a for n in NAMES for a in ("-n", n)))
        assert deployed.returncode == 0, (deployed.stdout + deployed.stderr)[-3000:]
        asyncio.run(check_server_side(prefect_api))
    finally:
        asyncio.run(clean_up(prefect_api))


async def check_server_side(server: PrefectServer) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import PrefectHTTPStatusError
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: server.api_url}):
        async with get_client() as client:
            pool = await client.read_work_pool(CLOUD_RUN_POOL)
            assert pool.type == CLOUD_RUN_WORKER_TYPE
            assert "service_account_name" in pool.base_job_template["variables"]["required"]
            for name in NAMES:
                flows = {
                    "dbt": "dbt_build",
                    "monitor": "volume_monitor",
                    "forecast": "forecast_pacing",
                    "ingest": "ingest",
                }
                flow = flows.get(name.split("-")[0], "daily_pipeline")
                deployment = await client.read_deployment_by_name(f"{flow}/{name}")
                assert deployment.work_pool_name == CLOUD_RUN_POOL
                assert deployment.job_variables["image"] == IMAGE
                assert deployment.job_variables["region"] == DEPLOY_ENV["MDP_GCP_REGION"]
                # The server checks a flow run's job variables with required ones enforced.
                run = await client.create_flow_run_from_deployment(deployment.id)
                assert run.work_pool_name == CLOUD_RUN_POOL
                await client.delete_flow_run(run.id)
            daily = await client.read_deployment_by_name(f"daily_pipeline/{NAMES[0]}")
            assert [(s.schedule.cron, s.schedule.timezone) for s in daily.schedules] == [
                ("0 6 * * *", DEPLOY_ENV["MDP_TIMEZONE"])
            ]
            # Cloud Run takes memory as 4Gi or 4G, not 4GB: a deployment or a custom run asking so is refused.
            bad = {**daily.job_variables, "memory": "4GB"}
            with pytest.raises(PrefectHTTPStatusError, match="422"):
                await client.create_deployment(
                    flow_id=daily.flow_id,
                    name="bad-memory",
                    work_pool_name=CLOUD_RUN_POOL,
                    entrypoint=daily.entrypoint,
                    job_variables=bad,
                )
            with pytest.raises(PrefectHTTPStatusError, match="422"):
                await client.create_flow_run_from_deployment(daily.id, job_variables={"memory": "4GB"})


async def clean_up(server: PrefectServer) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: server.api_url}):
        async with get_client() as client:
            for deployment in await client.read_deployments():
                if deployment.work_pool_name == CLOUD_RUN_POOL:
                    await client.delete_deployment(deployment.id)
            with contextlib.suppress(ObjectNotFound):
                await client.delete_work_pool(CLOUD_RUN_POOL)
