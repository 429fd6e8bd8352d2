"""`mdp run` and `mdp check` as a user runs them (a process of their own): what a run needs is checked before
its first API call, a refused command prints one line and leaves nothing behind (no warehouse file, no Prefect
home), and a failed run prints its failure, its traceback only with --verbose (Prefect's logs keep it)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sandbox import GoogleAdsSandbox, MetaSandbox
from tests.integration.conftest import read_only_folder

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

DAY = "2025-03-10"
SECRETS = {
    "MDP_PF_DEVELOPER_TOKEN": "pf-developer-token",  # pragma: allowlist secret
    "MDP_PF_ACCESS_TOKEN": "pf-access-token",  # pragma: allowlist secret
    "MDP_PF_META_TOKEN": "EAABpf" + "4f2a" * 6,  # pragma: allowlist secret
}
RUN = ["--start", DAY, "--end", DAY, "--no-dbt", "--no-monitoring"]


def write_config(
    tmp_path: Path,
    google: GoogleAdsSandbox,
    meta: MetaSandbox,
    warehouse: Path,
    meta_token: str = "env:MDP_PF_META_TOKEN",
) -> Path:
    data = {
        "timezone": "Europe/Paris",
        "warehouse": {"type": "duckdb", "path": str(warehouse)},
        "connectors": [
            {
                "name": "google_ads",
                "type": "google_ads",
                "streams": ["ad_performance"],
                "endpoint": google.endpoint,
                "login_customer_id": google.manager_id,
                "accounts": google.account_ids[:1],
                "credentials": {
                    "developer_token": "env:MDP_PF_DEVELOPER_TOKEN",
                    "access_token": "env:MDP_PF_ACCESS_TOKEN",
                },
            },
            {
                "name": "meta_ads",
                "type": "meta_ads",
                "streams": ["ad_insights"],
                "graph_url": meta.base_url,
                "accounts": meta.account_ids[:1],
                "credentials": {"access_token": meta_token},
            },
        ],
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def mdp(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`mdp ARGS` in its own process, with its own (not yet existing) Prefect home."""
    full_env = {
        **os.environ,
        **SECRETS,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "COLUMNS": "200",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "mdp.cli", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )


def assert_refused(result: subprocess.CompletedProcess[str], tmp_path: Path, starts: str) -> None:
    """Exit 2, one line on stderr, and no Prefect home."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(f"error: {starts}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "prefect-home").exists()


@pytest.mark.parametrize("case", ["not_duckdb", "read_only_folder", "under_a_file"])
def test_an_unusable_warehouse_is_refused_before_any_api_call(
    tmp_path: Path, google_sandbox: GoogleAdsSandbox, meta_sandbox: MetaSandbox, case: str
) -> None:
    folder = tmp_path / "wh"
    folder.mkdir()
    warehouse = folder / "warehouse.duckdb"
    if case == "not_duckdb":
        warehouse.write_text("account_id,day,spend\n1,2025-03-10,3.50\n")
    elif case == "under_a_file":
        (folder / "data").write_text("a file, not a folder")
        warehouse = folder / "data" / "warehouse.duckdb"
    config = write_config(tmp_path, google_sandbox, meta_sandbox, warehouse)
    before = sorted(p.name for p in folder.iterdir())
    starts = {
        "not_duckdb": f"warehouse.path: {warehouse} is a file that is not a DuckDB database",
        "read_only_folder": f"warehouse.path: folder {folder} is not writable",
        "under_a_file": f"warehouse.path: cannot create {warehouse}: {folder / 'data'} is not a folder",
    }[case]
    if case == "read_only_folder":
        with read_only_folder(folder):
            run = mdp(tmp_path, "run", "--config", str(config), *RUN)
            check = mdp(tmp_path, "check", "--config", str(config))
    else:
        run = mdp(tmp_path, "run", "--config", str(config), *RUN)
        check = mdp(tmp_path, "check", "--config", str(config))
    assert_refused(run, tmp_path, starts)
    assert run.stdout == ""
    assert_refused(check, tmp_path, starts)
    assert google_sandbox.calls.total() == meta_sandbox.calls.total() == 0
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written beside it


def test_an_unset_credential_is_refused_before_any_api_call(
    tmp_path: Path, google_sandbox: GoogleAdsSandbox, meta_sandbox: MetaSandbox
) -> None:
    config = write_config(tmp_path, google_sandbox, meta_sandbox, tmp_path / "wh" / "warehouse.duckdb")
    result = mdp(tmp_path, "run", "--config", str(config), *RUN, MDP_PF_META_TOKEN="")
    assert_refused(
        result,
        tmp_path,
        "connectors[1].credentials.access_token: environment variable MDP_PF_META_TOKEN "
        "(from 'env:MDP_PF_META_TOKEN') is not set or empty",
    )
    assert google_sandbox.calls.total() == meta_sandbox.calls.total() == 0
    assert not (tmp_path / "wh").exists()


@pytest.mark.parametrize(
    ("command", "starts"),
    [
        (["check", "--config", "{bad}"], "invalid configuration in"),
        (["check", "--config", "{brl}"], "reporting_currency: BRL has no rates in fx_rates_daily.csv"),
        (["run", "--config", "{good}", "--start", "2025-03-10", "--end", "2025-03-01"], "--end 2025-03-01 is before"),
        (["run", "--config", "{good}", "--connector", "bing"], "--connector: unknown ['bing']"),
        (["run", "--config", "{good}", "--no-such-flag"], ""),
        (["run", "--config", "{good}", "--resume", "no-such-run"], "warehouse file not found"),
        (["run", "--config", "{good}", "--retry-failed"], "warehouse file not found"),
    ],
)
def test_a_refused_command_leaves_nothing_behind(tmp_path: Path, command: list[str], starts: str) -> None:
    from mdp.paths import PROJECT_ROOT

    data = yaml.safe_load((PROJECT_ROOT / "pipeline.yaml").read_text())
    data["warehouse"]["path"] = str(tmp_path / "wh" / "warehouse.duckdb")
    files = {"good": data, "brl": {**data, "reporting_currency": "BRL"}, "bad": {**data, "timezone": "Nowhere/Land"}}
    for name, content in files.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(content, sort_keys=False))
    args = [word.format(**{name: tmp_path / f"{name}.yaml" for name in files}) for word in command]
    result = mdp(tmp_path, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert starts in result.stderr, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "brl.yaml", "good.yaml"]  # no home, no wh/


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_server")
def test_a_failed_run_prints_its_failure_and_its_traceback_only_with_verbose(
    tmp_path: Path, google_sandbox: GoogleAdsSandbox, meta_sandbox: MetaSandbox
) -> None:
    """The run passes the command's checks (a `block:` secret needs Prefect, so the flow checks it) and its
    flow fails: the console says why in one message; --verbose adds the traceback; Prefect's logs keep it."""
    from prefect.settings import PREFECT_API_URL

    config = write_config(
        tmp_path, google_sandbox, meta_sandbox, tmp_path / "warehouse.duckdb", meta_token="block:mdp-pf-missing"
    )
    env = {"PREFECT_API_URL": str(PREFECT_API_URL.value()), "PREFECT_LOGGING_TO_API_ENABLED": "true"}
    quiet = mdp(tmp_path, "run", "--config", str(config), *RUN, **env)
    loud = mdp(tmp_path, "run", "--config", str(config), *RUN, "--verbose", **env)
    reason = "connectors[1].credentials.access_token: Prefect Secret block 'mdp-pf-missing' cannot be loaded"
    for result in (quiet, loud):
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"run failed: Flow run encountered an exception: ConfigError: {reason}" in result.stderr
    assert "Traceback" not in quiet.stdout + quiet.stderr, quiet.stderr
    assert "Traceback (most recent call last)" in loud.stdout + loud.stderr, loud.stdout + loud.stderr
    assert google_sandbox.calls.total() == meta_sandbox.calls.total() == 0
    assert any("Traceback (most recent call last)" in log for log in asyncio.run(_flow_run_logs(config)))


async def _flow_run_logs(config: Path) -> list[str]:
    """The log messages Prefect's API holds for the daily_pipeline runs of `config`."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, LogFilter, LogFilterFlowRunId

    async with get_client() as client:
        runs = await client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["daily_pipeline"])))
        ids = [run.id for run in runs if run.parameters.get("config_path") == str(config)]
        assert len(ids) == 2
        logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)))
    return [log.message for log in logs]
