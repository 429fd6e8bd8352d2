"""The forecast step in the daily flow with dbt, on the Google Ads sandbox: both marts written with their declared
columns, a campaign overspending its budget (the sandbox's spend spike) is off pace and sent to Slack in one
message, worst first; the sandbox's mid-month campaign is marked insufficient_history (no numbers) and its paused
campaign forecasts zero; a rerun replaces the as_of's rows; an unknown campaign in the targets fails the step."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from sandbox import Fault, GoogleAdsSandbox, MetaSandbox, MicrosoftAdsSandbox, dynamics
from tests.integration.conftest import AS_OF, SlackReceiver
from tests.integration.test_fault_matrix import SECRETS, write_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_server"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

END = AS_OF - dt.timedelta(days=1)  # the sandbox's yesterday: the campaign snapshot is dated on it
START = END - dt.timedelta(days=55)
SPIKE_DAYS = [END - dt.timedelta(days=i) for i in range(6)]
BLOCK = "mdp-forecast-alerts"


def _config(tmp_path: Path, google: GoogleAdsSandbox, meta: MetaSandbox, microsoft: MicrosoftAdsSandbox) -> Path:
    path = write_config(tmp_path, google, meta, microsoft)
    data = yaml.safe_load(path.read_text())
    data["connectors"] = [c for c in data["connectors"] if c["type"] == "google_ads"]
    data["connectors"][0]["streams"] = ["ad_performance", "campaign_snapshot"]
    data["alerts"] = {"slack_webhook_block": BLOCK}
    data["pacing"] = {
        "targets": [{"channel": "google_ads", "metric": "spend", "value": 1, "currency": "EUR"}],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(config: Path, **params: Any) -> Any:
    from flows.daily import daily_pipeline

    params = {"run_date": AS_OF, "start_date": START, "end_date": END, "run_monitoring": False, **params}
    return asyncio.run(daily_pipeline(config_path=str(config), return_state=True, **params))


def _query(config: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(config.parent / "wh.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_daily_flow_forecasts_paces_and_alerts_on_an_overspending_campaign(
    tmp_path: Path,
    google_sandbox: GoogleAdsSandbox,
    meta_sandbox: MetaSandbox,
    microsoft_sandbox: MicrosoftAdsSandbox,
    slack_receiver: SlackReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect_slack import SlackWebhook

    from flows.forecast import FORECAST_DAILY, PACING_MONTHLY

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    SlackWebhook(url=slack_receiver.url).save(BLOCK, overwrite=True)
    config = _config(tmp_path, google_sandbox, meta_sandbox, microsoft_sandbox)
    spiked = google_sandbox.account_ids[0]
    for day in SPIKE_DAYS:
        google_sandbox.faults.add(
            Fault("spend_spike", channel="google_ads", account=spiked, day=day, params={"factor": 3})
        )

    state = _run(config)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary.steps["forecast"] == "completed"
    assert "off pace" in summary.step_details["forecast"]
    off_pace = summary.off_pace

    # both marts carry exactly their declared columns (load metadata appended)
    for spec in (FORECAST_DAILY, PACING_MONTHLY):
        schema, table = spec.name.split(".")
        columns = [
            name
            for (name,) in _query(
                config,
                f"SELECT column_name FROM information_schema.columns WHERE table_schema = '{schema}' "
                f"AND table_name = '{table}' ORDER BY ordinal_position",
            )
        ]
        assert columns[: len(spec.schema.names)] == spec.schema.names
    # every grain forecasts 30 days after as_of (March ends sooner), one row per grain and day
    grains = _query(
        config,
        "SELECT grain, count(DISTINCT grain_key), min(horizon), max(horizon), count(*), min(as_of), max(as_of) "
        "FROM marts.forecast_daily GROUP BY grain ORDER BY grain",
    )
    accounts = len(google_sandbox.account_ids)
    assert [(g, n) for g, n, *_ in grains][:2] == [("account", accounts), ("campaign", grains[1][1])]
    for _, keys, first, last, rows, min_as_of, max_as_of in grains:
        assert (first, last, rows, min_as_of, max_as_of) == (1, 30, keys * 30, END, END)
    # intervals are ordered wherever there are numbers
    [(disordered,)] = _query(
        config,
        "SELECT count(*) FROM marts.forecast_daily WHERE status = 'forecast' AND NOT (spend_lo95 <= spend_lo80 "
        "AND spend_lo80 <= spend AND spend <= spend_hi80 AND spend_hi80 <= spend_hi95)",
    )
    assert disordered == 0

    # the sandbox's campaign that started on the 15th has 5 days: marked, no numbers; its paused one forecasts zero
    data = google_sandbox.truth.data
    first, second = (a.account_id for a in data.accounts("google_ads")[:2])
    late = data.structure("google_ads", first).campaigns[-1].campaign_id
    assert dynamics.campaign_start(data, "google_ads", first, late, AS_OF) == dt.date(2025, 3, 15)
    assert _query(
        config,
        f"SELECT DISTINCT status, history_days, count(spend) OVER () FROM marts.forecast_daily WHERE campaign_id = '{late}'",
    ) == [("insufficient_history", 5, 0)]
    paused = data.structure("google_ads", second).campaigns[0].campaign_id
    assert dynamics.campaign_paused_from(data, "google_ads", second, paused, AS_OF) == AS_OF - dt.timedelta(days=6)
    assert _query(
        config,
        "SELECT status, count(*), max(spend), max(conversions_hi95) FROM marts.forecast_daily "
        f"WHERE campaign_id = '{paused}' GROUP BY ALL",
    ) == [("paused", 30, 0, 0)]

    # the spiked account's campaigns overspend their daily budgets; the channel target of 1 EUR is blown
    pacing = _query(
        config,
        "SELECT grain_key, basis, verdict, off_pace, pacing_ratio FROM marts.pacing_monthly "
        "WHERE metric = 'spend' ORDER BY pacing_ratio DESC",
    )
    assert pacing[0][:4] == ("google_ads", "target", "over", True)
    budget_rows = [(key, verdict, ratio) for key, basis, verdict, _, ratio in pacing if basis == "daily_budget"]
    spiked_rows = [
        row for row in budget_rows if row[0].startswith(f"google_ads/{spiked}/") and row[1] != "insufficient_history"
    ]
    assert spiked_rows
    assert all(verdict == "over" and ratio > 1.5 for _, verdict, ratio in spiked_rows), spiked_rows
    assert budget_rows[: len(spiked_rows)] == spiked_rows  # the worst overspenders are the spiked account's

    # one Slack message, the worst first: the blown channel target, then the spiked account's campaigns
    assert len(slack_receiver.messages) == 1
    lines = slack_receiver.messages[0]["text"].splitlines()
    assert lines[0].startswith(f"Pacing March 2025: {len(off_pace)} off pace (as of {END})")
    assert lines[1].startswith("channel google_ads · spend: projected")
    for line, (key, _, _) in zip(lines[2:], spiked_rows, strict=False):
        assert f"campaign google_ads {key.removeprefix('google_ads/')} " in line
        assert "vs budget" in line
        assert "over pace" in line

    # a rerun of the same window replaces the as_of's rows (never duplicates)
    before = _query(config, "SELECT count(*) FROM marts.forecast_daily")
    google_sandbox.faults.clear()
    again = _run(config)
    assert again.is_completed(), again.message
    assert _query(config, "SELECT count(*) FROM marts.forecast_daily") == before
    assert _query(config, "SELECT count(DISTINCT run_id) FROM marts.forecast_daily") == [(1,)]


def test_an_unknown_campaign_in_the_targets_fails_the_forecast_step_naming_it(
    tmp_path: Path,
    google_sandbox: GoogleAdsSandbox,
    meta_sandbox: MetaSandbox,
    microsoft_sandbox: MicrosoftAdsSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.forecast import ForecastError, run_forecast
    from mdp.config import load_config

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config = _config(tmp_path, google_sandbox, meta_sandbox, microsoft_sandbox)
    state = _run(config, end_date=START + dt.timedelta(days=2))
    assert state.is_completed(), state.message
    data = yaml.safe_load(config.read_text())
    account = google_sandbox.account_ids[0]
    data["pacing"]["targets"].append(
        {"channel": "google_ads", "account_id": account, "campaign_id": "999", "metric": "conversions", "value": 5}
    )
    data["alerts"] = {"slack_webhook_block": None}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ForecastError, match=rf"campaign_id '999' is not a campaign of google_ads account {account}"):
        run_forecast(load_config(config), "test")
