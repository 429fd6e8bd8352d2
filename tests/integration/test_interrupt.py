"""Ctrl-C during `mdp run`: the command stops at once (exit 130, its temporary Prefect server stopped, no
process left), says which units landed and prints the exact command that finishes the job without extracting
the landed units again (`--resume RUN_ID`)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from deployments.local import stop_process_group
from sandbox import Fault, GoogleAdsSandbox, MetaSandbox

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 12)
SECRETS = {
    "MDP_INT_DEVELOPER_TOKEN": "int-developer-token",  # pragma: allowlist secret
    "MDP_INT_ACCESS_TOKEN": "int-access-token",  # pragma: allowlist secret
    "MDP_INT_META_TOKEN": "EAABint" + "4f2a" * 6,  # pragma: allowlist secret
}


def write_config(tmp_path: Path, google: GoogleAdsSandbox, meta: MetaSandbox) -> Path:
    data = {
        "timezone": "Europe/Paris",
        "warehouse": {"type": "duckdb", "path": str(tmp_path / "wh.duckdb")},
        "connectors": [
            {
                "name": "google_ads",
                "type": "google_ads",
                "streams": ["ad_performance"],
                "endpoint": google.endpoint,
                "login_customer_id": google.manager_id,
                "accounts": google.account_ids,
                "credentials": {
                    "developer_token": "env:MDP_INT_DEVELOPER_TOKEN",
                    "access_token": "env:MDP_INT_ACCESS_TOKEN",
                },
            },
            {
                "name": "meta_ads",
                "type": "meta_ads",
                "streams": ["ad_insights"],
                "graph_url": meta.base_url,
                "accounts": meta.account_ids,
                "read_timeout_seconds": 120,
                "credentials": {"access_token": "env:MDP_INT_META_TOKEN"},
            },
        ],
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.usefixtures("prefect_server")
def test_ctrl_c_says_what_landed_and_how_to_finish(
    tmp_path: Path, google_sandbox: GoogleAdsSandbox, meta_sandbox: MetaSandbox
) -> None:
    config = write_config(tmp_path, google_sandbox, meta_sandbox)
    meta_sandbox.faults.add(Fault("slow", params={"delay_seconds": 60}))  # Meta hangs; Google lands
    env = {
        **os.environ,
        **SECRETS,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "mdp.cli", "run", "--config", str(config), "--start", str(START)]
    command += ["--end", str(END), "--no-dbt", "--no-monitoring"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 300
        while meta_sandbox.calls.total() == 0 and time.monotonic() < deadline:  # extraction under way
            assert process.poll() is None, process.communicate()[0]
            time.sleep(0.2)
        google_done = time.monotonic() + 120
        # per account: its ad_performance unit (ads, then campaigns) and its account_totals unit
        while google_sandbox.calls.total() < 3 * len(google_sandbox.account_ids) and time.monotonic() < google_done:
            time.sleep(0.2)
        time.sleep(3)  # let Google's units load
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        stop_process_group(process)
    assert process.returncode == 130, output
    assert "interrupted: units landed google_ads 6/6, meta_ads 0/6" in output, output  # sorted by connector
    flat = " ".join(output.split())
    expected = f"mdp run --config {config} --start {START} --end {END} --no-dbt --no-monitoring --resume "
    assert expected in flat, output
    resume = flat[flat.index(expected) :].split()[:12]  # ... --resume RUN_ID

    # The printed command finishes the job: Meta's units load, Google's (landed) are not extracted again.
    meta_sandbox.faults.clear()
    google_calls, meta_calls = google_sandbox.calls.total(), meta_sandbox.calls.total()
    from prefect.settings import PREFECT_API_URL

    finish = subprocess.run(  # on the session's Prefect server: no second temporary server to wait for
        [sys.executable, "-m", "mdp.cli", *resume[1:]],
        env={**env, "PREFECT_API_URL": str(PREFECT_API_URL.value())},
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )
    assert finish.returncode == 0, finish.stdout + finish.stderr
    assert "resuming run" in finish.stdout, finish.stdout
    assert google_sandbox.calls.total() == google_calls, "landed Google units were extracted again"
    assert meta_sandbox.calls.total() > meta_calls
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        landed = con.execute(
            "SELECT connector, count(DISTINCT (account_id, day)) FROM ops.load_log WHERE status = 'success' "
            "GROUP BY connector ORDER BY connector"
        ).fetchall()
    days = (END - START).days + 1
    assert landed == [("google_ads", 3 * days), ("meta_ads", 3 * days)]
