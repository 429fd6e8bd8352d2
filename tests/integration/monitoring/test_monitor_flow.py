"""The volume_monitor flow on a temporary Prefect API: anomalies are written, published as an artifact and
sent to a local Slack receiver, and the flow still completes; a clean run sends nothing; the parent flow
runs it after ingesting."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import duckdb
import pytest

from flows.monitor import MonitorResult
from sandbox.faults import Fault
from tests.integration.conftest import AS_OF, SlackReceiver
from tests.integration.monitoring.conftest import END, Site

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_server"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]
BLOCK = "mdp-monitor-alerts"


def monitor(site: Site, start: dt.date, run_id: str) -> MonitorResult:
    from flows.monitor import volume_monitor

    state = volume_monitor(
        config_path=str(site.config_path), run_id=run_id, windows=site.windows(start, END), return_state=True
    )
    assert state.is_completed(), state.message
    result = state.result()
    assert isinstance(result, MonitorResult)
    return result


def test_anomalies_reach_slack_and_the_flow_completes(
    site: Site, slack_receiver: SlackReceiver, tmp_path: object
) -> None:
    from prefect.artifacts import Artifact
    from prefect_slack import SlackWebhook

    SlackWebhook(url=slack_receiver.url).save(BLOCK, overwrite=True)
    alerting = site.copy(site.config_path.parent / "alerting", alerts=BLOCK)
    google, meta = site.google.account_ids, site.meta.account_ids
    site.google.faults.add(Fault("spend_spike", account=google[0], day=dt.date(2025, 3, 14), params={"factor": 10}))
    site.meta.faults.add(Fault("row_drop", account=meta[1], day=dt.date(2025, 3, 12), params={"keep_fraction": 0.1}))
    alerting.load(dt.date(2025, 3, 10), END)

    result = monitor(alerting, dt.date(2025, 3, 10), "run-anomalies")

    assert len(result.anomalies) == 3
    assert result.alerted
    assert len(slack_receiver.messages) == 1
    message = slack_receiver.messages[0]
    assert message["blocks"][0]["text"]["text"] == "Volume monitor: 3 anomalies (run run-anomalies)"
    body = message["blocks"][1]["text"]["text"]
    lines = body.splitlines()
    assert lines[0].startswith("120 checks: 3 anomalies")
    meta_id = meta[1].removeprefix("act_")
    assert lines[1].startswith(f"• *google_ads* `{google[0]}` Fri 2025-03-14: spend *")
    assert f"• *meta_ads* `{meta_id}` Wed 2025-03-12: rows *" in body
    assert f"• *meta_ads* `{meta_id}` Wed 2025-03-12: spend *" in body

    with duckdb.connect(str(alerting.warehouse_path), read_only=True) as con:
        stored = con.execute(
            "SELECT connector, account_id, day, metric FROM ops.volume_checks "
            "WHERE run_id = 'run-anomalies' AND status = 'anomaly' ORDER BY ALL"
        ).fetchall()
    assert stored == sorted(
        [
            ("google_ads", google[0], dt.date(2025, 3, 14), "spend"),
            ("meta_ads", meta_id, dt.date(2025, 3, 12), "rows"),
            ("meta_ads", meta_id, dt.date(2025, 3, 12), "spend"),
        ]
    )
    artifact = Artifact.get("volume-checks")
    assert artifact is not None
    table = json.loads(str(artifact.data))
    assert [row["status"] for row in table[:3]] == ["anomaly"] * 3


def test_a_clean_run_sends_nothing(site: Site, slack_receiver: SlackReceiver) -> None:
    from prefect_slack import SlackWebhook

    SlackWebhook(url=slack_receiver.url).save(BLOCK, overwrite=True)
    quiet = site.copy(site.config_path.parent / "quiet", alerts=BLOCK)
    result = monitor(quiet, END - dt.timedelta(days=13), "run-clean")
    assert result.anomalies == []
    assert not result.alerted
    assert slack_receiver.messages == []


def test_the_daily_pipeline_runs_the_monitor_after_ingest(site: Site) -> None:
    from flows import progress
    from flows.daily import daily_pipeline

    events: list[progress.ProgressEvent] = []
    unsubscribe = progress.subscribe(events.append)
    try:
        state = asyncio.run(
            daily_pipeline(
                config_path=str(site.config_path),
                run_date=AS_OF,
                lookback_days=3,
                run_dbt=False,
                return_state=True,
            )
        )
    finally:
        unsubscribe()
    # the live display hears of the monitoring step starting and ending (after every unit)
    steps = [(e.connector, e.units, e.failed) for e in events if e.kind == "step"]
    # (before it, the reconciliation's quarantine check: the run built no marts to compare)
    assert steps == [
        ("reconciliation", 0, False),
        ("reconciliation", 1, False),
        ("monitoring", 0, False),
        ("monitoring", 1, False),
    ]
    assert events[-1].kind == "step"
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary.steps == {"reconciliation": "completed", "monitoring": "completed"}
    with duckdb.connect(str(site.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "SELECT count(*), count(DISTINCT day), min(run_id) = max(run_id) FROM ops.volume_checks"
        ).fetchone()
    assert rows == (6 * 3 * 2, 3, True)
    # the parent run carries what its steps found: the summary with the verdicts, the non-ok checks
    from prefect.artifacts import Artifact

    verdicts = summary.step_details["monitoring"].split(", ")  # e.g. "30 insufficient_history, 6 ok"
    assert sum(int(v.split()[0]) for v in verdicts) == 6 * 3 * 2
    parent = str(state.state_details.flow_run_id)
    for key in ("daily-summary", "volume-checks"):
        artifact = Artifact.get(key)
        assert artifact is not None
        assert str(artifact.flow_run_id) == parent, f"{key} is not on the parent run"
    daily = Artifact.get("daily-summary")
    assert daily is not None
    assert f"- monitoring: **completed** ({summary.step_details['monitoring']})" in str(daily.data)
