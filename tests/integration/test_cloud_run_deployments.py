"""The Cloud Run deployments of prefect.yaml, rendered as `prefect deploy` renders them, validate against the
`mdp-cloud-run` pool's variables schema as the Prefect server validates them, and the worker turns them into
the intended Cloud Run job (image, CPU, memory, timeout, service account, region, secrets by reference).
No Google project is needed: the job body is what prefect-gcp would send to the Cloud Run Admin API."""

from __future__ import annotations

import asyncio
import copy
import os
import re
import uuid
from typing import Any
from unittest import mock

import pytest
import yaml
from prefect.cli.deploy._models import PrefectYamlModel
from prefect.client.schemas.objects import Flow, FlowRun
from prefect.utilities.schema_tools import ValidationError, is_valid_schema, validate
from prefect.utilities.templating import apply_values
from prefect_gcp.workers.cloud_run_v2 import CloudRunWorkerJobV2Configuration, CloudRunWorkerV2

from deployments.cloud_run import (
    CLOUD_RUN_POOL,
    CLOUD_RUN_WORKER_TYPE,
    REQUIRED_VARIABLES,
    VARIABLE_DEFAULTS,
    base_job_template,
)
from mdp.paths import PROJECT_ROOT

# What the deploy workflow exports before `prefect deploy` (illustrative project and names).
DEPLOY_ENV = {
    "MDP_IMAGE": "europe-west1-docker.pkg.dev/acme-marketing/mdp/worker",
    "MDP_IMAGE_TAG": "3f2a9c0d",
    "MDP_GCP_REGION": "europe-west1",
    "MDP_RUN_SERVICE_ACCOUNT": "mdp-flow-runs@acme-marketing.iam.gserviceaccount.com",
    "MDP_TIMEZONE": "Europe/Paris",
}
IMAGE = f"{DEPLOY_ENV['MDP_IMAGE']}:{DEPLOY_ENV['MDP_IMAGE_TAG']}"
SECRET_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")  # Secret Manager's secret id
SECRET_LIKE = re.compile(r"TOKEN|SECRET|PASSWORD|KEY|CREDENTIAL", re.IGNORECASE)


def prefect_yaml() -> dict[str, Any]:
    raw = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    PrefectYamlModel.model_validate(raw)  # the model `prefect deploy` checks the file with
    return dict(raw)


def rendered_cloud_run_deployments() -> dict[str, dict[str, Any]]:
    """Cloud Run deployments after deploy-time templating (`{{ $VAR }}` from the process environment)."""
    with mock.patch.dict(os.environ, DEPLOY_ENV):
        return {
            d["name"]: apply_values(copy.deepcopy(d), os.environ, remove_notset=False)
            for d in prefect_yaml()["deployments"]
            if d["work_pool"]["name"] == CLOUD_RUN_POOL
        }


CLOUD_RUN_NAMES = sorted(rendered_cloud_run_deployments())


class _NoPrefectAPI:
    """Stands in for the Prefect client: the template must not need blocks or variables to render."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"rendering the Cloud Run job asked the Prefect API for {name}")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return base_job_template()


@pytest.fixture
def adc(monkeypatch: pytest.MonkeyPatch) -> str:
    """The worker's Application Default Credentials: the Cloud Run job is created in their project."""
    from google.auth.credentials import AnonymousCredentials

    project = "acme-marketing"
    monkeypatch.setattr("google.auth.default", lambda *a, **k: (AnonymousCredentials(), project))
    return project


def job_variables(name: str) -> dict[str, Any]:
    return dict(rendered_cloud_run_deployments()[name]["work_pool"]["job_variables"])


def check(variables: dict[str, Any], schema: dict[str, Any]) -> None:
    """The server's check of a deployment's job variables (pool defaults merged first), but with required
    variables enforced and unknown keys refused: the pool schema alone would silently accept a typo."""
    unknown = sorted(set(variables) - set(schema["properties"]))
    assert not unknown, f"not variables of the {CLOUD_RUN_WORKER_TYPE} pool: {unknown}"
    defaults = {k: p["default"] for k, p in schema["properties"].items() if p.get("default") is not None}
    validate({**defaults, **variables}, schema, raise_on_error=True, preprocess=True, allow_none_with_default=True)


def render_job(template: dict[str, Any], variables: dict[str, Any], flow: str) -> CloudRunWorkerJobV2Configuration:
    """The job configuration a `cloud-run-v2` worker builds for a flow run of this deployment."""

    async def build() -> CloudRunWorkerJobV2Configuration:
        return await CloudRunWorkerJobV2Configuration.from_template_and_values(
            template, variables, client=_NoPrefectAPI()
        )

    configuration = asyncio.run(build())
    run = FlowRun(flow_id=uuid.uuid4(), name="brave-fox", deployment_id=uuid.uuid4())
    configuration.prepare_for_flow_run(flow_run=run, flow=Flow(name=flow))
    return configuration


def test_the_pool_template_is_the_workers_default_with_the_projects_rules(template: dict[str, Any]) -> None:
    assert CloudRunWorkerV2.type == CLOUD_RUN_WORKER_TYPE
    default = CloudRunWorkerV2.get_default_base_job_template()
    assert template["job_configuration"] == default["job_configuration"]
    variables = template["variables"]
    is_valid_schema(variables, preprocess=False)  # what the server checks when the pool is created
    assert set(REQUIRED_VARIABLES) <= set(variables["required"])
    assert all("default" not in variables["properties"][name] for name in REQUIRED_VARIABLES)
    for name, value in VARIABLE_DEFAULTS.items():
        assert variables["properties"][name]["default"] == value
    check({"image": IMAGE, "region": "europe-west1", "service_account_name": "a@b.iam.gserviceaccount.com"}, variables)


def test_every_production_flow_has_a_cloud_run_deployment_beside_docker() -> None:
    deployments = prefect_yaml()["deployments"]
    docker = {d["name"]: d for d in deployments if d["work_pool"]["name"] == "mdp-docker"}
    cloud_run = rendered_cloud_run_deployments()
    assert sorted(cloud_run) == sorted(f"{name}-cloud-run" for name in docker)
    for name, deployment in docker.items():
        twin = cloud_run[f"{name}-cloud-run"]
        assert twin["entrypoint"] == deployment["entrypoint"]
        assert twin.get("parameters") == deployment.get("parameters")
        assert len(twin.get("schedules", [])) == len(deployment.get("schedules", []))
        assert twin["pull"] == deployment["pull"]
        # The image is built and pushed by the deploy workflow: no Docker engine at `prefect deploy` time.
        assert "build" not in twin
        assert "push" not in twin
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    workdir = re.findall(r"^WORKDIR\s+(\S+)", dockerfile, re.MULTILINE)[-1]
    for twin in cloud_run.values():
        assert twin["pull"] == [{"prefect.deployments.steps.set_working_directory": {"directory": workdir}}]


@pytest.mark.parametrize("name", CLOUD_RUN_NAMES)
def test_job_variables_validate_against_the_pool_schema(template: dict[str, Any], name: str) -> None:
    variables = job_variables(name)
    assert "{{" not in str(variables), "a deploy-time placeholder was left unresolved"
    check(variables, template["variables"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"memory": "4GB"}, "does not match"),
        ({"timeout": 8 * 24 * 3600}, "greater than the maximum"),
        ({"service_account_name": None}, "service_account_name"),
        ({"env_from_secrets": {"META_ACCESS_TOKEN": {"version": "latest"}}}, "'secret' is a required property"),
        ({"memroy": "4Gi"}, "not variables of the"),
    ],
)
def test_the_validation_refuses_what_cloud_run_or_the_worker_would(
    template: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    variables = {k: v for k, v in {**job_variables("daily-cloud-run"), **change}.items() if v is not None}
    with pytest.raises((ValidationError, AssertionError), match=message):
        check(variables, template["variables"])


@pytest.mark.parametrize("name", CLOUD_RUN_NAMES)
def test_the_worker_renders_the_intended_cloud_run_job(template: dict[str, Any], adc: str, name: str) -> None:
    variables = job_variables(name)
    flow = rendered_cloud_run_deployments()[name]["entrypoint"].rsplit(":", 1)[1]
    configuration = render_job(template, variables, flow)

    assert configuration.project == adc
    assert configuration.region == DEPLOY_ENV["MDP_GCP_REGION"]
    assert configuration.timeout == variables["timeout"]
    assert configuration.job_name.startswith("brave-fox-")  # the flow run's name, as the Cloud Run job id
    task = configuration.job_body["template"]["template"]
    assert task["serviceAccount"] == DEPLOY_ENV["MDP_RUN_SERVICE_ACCOUNT"]
    assert task["timeout"] == f"{variables['timeout']}s"
    assert task["maxRetries"] == 0
    assert "vpcAccess" not in task
    (container,) = task["containers"]
    assert container["image"] == IMAGE
    assert container["resources"]["limits"] == {"cpu": variables["cpu"], "memory": variables["memory"]}
    assert container["command"] == ["prefect", "flow-run", "execute"]

    env = {e["name"]: e for e in container["env"]}
    from_secrets = {n: e["valueSource"]["secretKeyRef"] for n, e in env.items() if "valueSource" in e}
    assert from_secrets == {
        **variables["env_from_secrets"],
        "PREFECT_API_KEY": variables["prefect_api_key_secret"],
    }
    assert "PREFECT__FLOW_RUN_ID" in env
    plaintext = sorted(n for n, e in env.items() if "value" in e and SECRET_LIKE.search(n))
    assert plaintext == [], f"secret-like variables passed in plain text: {plaintext}"


@pytest.mark.parametrize("name", CLOUD_RUN_NAMES)
def test_secrets_are_references_only(name: str) -> None:
    variables = job_variables(name)
    references = [variables["prefect_api_key_secret"], *variables["env_from_secrets"].values()]
    for reference in references:
        assert set(reference) == {"secret", "version"}
        assert SECRET_NAME.match(reference["secret"])
        assert reference["version"] == "latest" or reference["version"].isdigit()
    assert not any(SECRET_LIKE.search(key) for key in variables.get("env", {}))


def test_the_production_runs_fan_out_to_the_ingest_deployment_of_their_pool(template: dict[str, Any], adc: str) -> None:
    """daily and rerun set execution deployments (to their own pool's ingest deployment) in the jobs' env; the
    shards beat often enough for the parent's stale_after_seconds (execution default)."""
    from mdp.config import ExecutionSettings

    docker = {d["name"]: d for d in prefect_yaml()["deployments"] if d["work_pool"]["name"] == "mdp-docker"}
    for name, ingest in (
        ("daily-cloud-run", "ingest/ingest-cloud-run"),
        ("rerun-cloud-run", "ingest/ingest-cloud-run"),
    ):
        container = render_job(template, job_variables(name), "daily_pipeline").job_body["template"]["template"]
        env = {e["name"]: e.get("value") for e in container["containers"][0]["env"]}
        assert env["MDP_EXECUTION__MODE"] == "deployments"
        assert env["MDP_EXECUTION__INGEST_DEPLOYMENT"] == ingest
    for name in ("daily", "rerun"):
        assert docker[name]["work_pool"]["job_variables"]["env"]["MDP_EXECUTION__INGEST_DEPLOYMENT"] == "ingest/ingest"
    shard = job_variables("ingest-cloud-run")
    beat = int(shard["env"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"])
    assert 2 * beat < ExecutionSettings().stale_after_seconds
    assert rendered_cloud_run_deployments()["ingest-cloud-run"]["entrypoint"] == "flows/ingest.py:ingest_connector"
