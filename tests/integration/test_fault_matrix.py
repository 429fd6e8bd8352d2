"""The fault matrix, on every change: each sandbox fault on one account of a channel, through the daily
flow (that channel's connector: one channel failing leaves the others alone is
tests/integration/flows/test_daily_pipeline.py's) and the official clients. Every other account lands exactly
the truth; the faulted one recovers or fails naming its account (never a silent drop); no secret reaches a log
line, an error or the warehouse file."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from sandbox import Fault, GoogleAdsSandbox, LinkedInAdsSandbox, MetaSandbox, MicrosoftAdsSandbox, TikTokAdsSandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_server"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 12)
SECRETS = {
    "MDP_FM_GOOGLE_DEVELOPER_TOKEN": "fm-dev-token-7c1f9e2a4b",  # pragma: allowlist secret
    "MDP_FM_GOOGLE_ACCESS_TOKEN": "fm-access-token-3d8b0a6e1c",  # pragma: allowlist secret
    "MDP_FM_META_ACCESS_TOKEN": "EAABfm" + "5e2c9a7d4f1b" * 2,  # pragma: allowlist secret
    "MDP_FM_MSADS_REFRESH_TOKEN": "M.C5_fm-refresh-" + "8b1d4e6a" * 3,  # pragma: allowlist secret
    "MDP_FM_MSADS_CLIENT_ID": "fm-client-0f3a9c5e71",  # pragma: allowlist secret
    "MDP_FM_MSADS_DEVELOPER_TOKEN": "fm-msdev-2b7e4d9c1a",  # pragma: allowlist secret
    "MDP_FM_TIKTOK_ACCESS_TOKEN": "fm-tiktok-" + "6d2a8f0c" * 4,  # pragma: allowlist secret
    "MDP_FM_LINKEDIN_CLIENT_ID": "fm-li-client-6d2a9e4c",  # pragma: allowlist secret
    "MDP_FM_LINKEDIN_CLIENT_SECRET": "fm-li-secret-" + "3c7e1a9b" * 2,  # pragma: allowlist secret
    "MDP_FM_LINKEDIN_REFRESH_TOKEN": "AQWfm-refresh-" + "5b8d2f0e" * 3,  # pragma: allowlist secret
}
# QUARANTINE_FAILS: rows quarantined on every extraction: the other rows land, the run fails naming the unit
# (a quarantine on the first extraction only is healed by the second one the reconciliation asks for: RECOVERS)
RECOVERS, FAILS, QUARANTINE_FAILS = "recovers", "fails", "quarantine_fails"
# channel, fault kind, parameters (`method` narrows the calls), calls affected (None: all), outcome
MATRIX: list[tuple[str, str, dict[str, Any], int | None, str]] = [
    ("google_ads", "quota_retry", {"retry_delay_seconds": 1}, 1, RECOVERS),
    ("google_ads", "quota_daily", {}, None, FAILS),
    ("google_ads", "unavailable", {}, 1, RECOVERS),
    ("google_ads", "internal", {}, 1, RECOVERS),
    ("google_ads", "revoked", {}, None, FAILS),
    ("google_ads", "permission_denied", {}, None, FAILS),
    ("google_ads", "malformed", {"mode": "negative_cost", "rows": 1}, 1, RECOVERS),
    ("google_ads", "malformed", {"mode": "missing_id", "rows": 1}, None, QUARANTINE_FAILS),
    ("google_ads", "schema_drift", {}, None, RECOVERS),
    ("meta_ads", "unavailable", {}, 1, RECOVERS),
    ("meta_ads", "internal", {}, 1, RECOVERS),
    ("meta_ads", "token_invalid", {}, None, FAILS),
    ("meta_ads", "revoked", {}, None, FAILS),
    ("meta_ads", "permission_denied", {}, None, FAILS),
    ("meta_ads", "throttle", {"code": 80004}, None, FAILS),  # asks 5 min: over the 6 s ceiling here
    ("meta_ads", "job_failed", {}, 1, RECOVERS),
    ("meta_ads", "malformed", {"method": "report_insights", "mode": "non_numeric", "rows": 1}, 1, RECOVERS),
    ("meta_ads", "malformed", {"method": "report_insights", "mode": "negative_cost"}, None, QUARANTINE_FAILS),
    ("meta_ads", "schema_drift", {}, None, RECOVERS),
    ("microsoft_ads", "throttle", {}, 1, RECOVERS),
    ("microsoft_ads", "unavailable", {}, 1, RECOVERS),
    ("microsoft_ads", "report_error", {"method": "SubmitGenerateReport"}, 1, RECOVERS),
    ("microsoft_ads", "expired_token", {}, 1, RECOVERS),  # the SDK refreshes the token and asks again
    ("microsoft_ads", "expired_token", {}, None, FAILS),
    ("microsoft_ads", "token_invalid", {}, None, FAILS),
    ("microsoft_ads", "permission_denied", {}, None, FAILS),
    ("microsoft_ads", "malformed", {"method": "SubmitGenerateReport", "mode": "non_numeric"}, 1, RECOVERS),
    ("microsoft_ads", "malformed", {"method": "SubmitGenerateReport", "mode": "negative_cost"}, None, QUARANTINE_FAILS),
    ("tiktok_ads", "throttle", {}, 1, RECOVERS),  # code 40100, retried by the client
    ("tiktok_ads", "internal", {}, 1, RECOVERS),  # code 50000
    ("tiktok_ads", "unavailable", {}, 1, RECOVERS),  # HTTP 503 from the gateway
    ("tiktok_ads", "token_invalid", {}, None, FAILS),  # code 40105
    ("tiktok_ads", "permission_denied", {}, None, FAILS),  # code 40001
    ("tiktok_ads", "malformed", {"method": "report", "mode": "non_numeric"}, 1, RECOVERS),
    ("tiktok_ads", "malformed", {"method": "report", "mode": "negative_cost"}, None, QUARANTINE_FAILS),
    ("tiktok_ads", "schema_drift", {}, None, RECOVERS),
    ("linkedin_ads", "throttle", {"retry_after": 1}, 1, RECOVERS),  # 429 + Retry-After: waited for, asked again
    ("linkedin_ads", "throttle", {"retry_after": 600}, None, FAILS),  # asks 10 min: over the 6 s ceiling here
    ("linkedin_ads", "unavailable", {}, 1, RECOVERS),
    ("linkedin_ads", "expired_token", {}, 1, RECOVERS),  # a 401: the token is renewed once and the call repeated
    ("linkedin_ads", "token_invalid", {}, None, FAILS),
    ("linkedin_ads", "permission_denied", {}, None, FAILS),
    ("linkedin_ads", "malformed", {"method": "adAnalytics", "mode": "non_numeric"}, 1, RECOVERS),
    ("linkedin_ads", "malformed", {"method": "adAnalytics", "mode": "negative_cost"}, None, QUARANTINE_FAILS),
    ("linkedin_ads", "schema_drift", {}, None, RECOVERS),
]


def write_config(
    tmp_path: Path,
    google: GoogleAdsSandbox,
    meta: MetaSandbox,
    microsoft: MicrosoftAdsSandbox,
    tiktok: TikTokAdsSandbox | None = None,
    linkedin: LinkedInAdsSandbox | None = None,
) -> Path:
    data = {
        "timezone": "Europe/Paris",
        "warehouse": {"type": "duckdb", "path": str(tmp_path / "wh.duckdb")},
        "connectors": [
            {
                "name": "google_ads",
                "type": "google_ads",
                # the faults of every stream are classified by the conformance suite; here, the primary one
                "streams": ["ad_performance"],
                "endpoint": google.endpoint,
                "login_customer_id": google.manager_id,
                "accounts": google.account_ids,
                "request_timeout_seconds": 10,
                "max_retry_wait_minutes": 0.1,
                "retry": {"max_attempts": 3, "initial_delay_seconds": 0.01, "max_delay_seconds": 1},
                "credentials": {
                    "developer_token": "env:MDP_FM_GOOGLE_DEVELOPER_TOKEN",
                    "access_token": "env:MDP_FM_GOOGLE_ACCESS_TOKEN",
                },
            },
            {
                "name": "meta_ads",
                "type": "meta_ads",
                "streams": ["ad_insights"],
                "graph_url": meta.base_url,
                "accounts": meta.account_ids,
                "max_retry_wait_minutes": 0.1,
                "retry_base_delay_seconds": 0.01,
                "retry_max_delay_seconds": 1,
                "throttle_pause_seconds": 0.01,
                "poll_initial_seconds": 0.01,
                "poll_max_seconds": 0.05,
                "credentials": {"access_token": "env:MDP_FM_META_ACCESS_TOKEN"},
            },
            {
                "name": "microsoft_ads",
                "type": "microsoft_ads",
                "streams": ["ad_performance"],
                "endpoint": microsoft.base_url,
                "token_url": microsoft.token_url,
                "customer_id": microsoft.customer_id,
                "accounts": microsoft.account_ids,
                "max_retry_wait_minutes": 0.1,
                "poll_initial_seconds": 0.01,
                "poll_max_seconds": 0.05,
                "request_timeout_seconds": 10,
                "credentials": {
                    "refresh_token": "env:MDP_FM_MSADS_REFRESH_TOKEN",
                    "client_id": "env:MDP_FM_MSADS_CLIENT_ID",
                    "developer_token": "env:MDP_FM_MSADS_DEVELOPER_TOKEN",
                },
            },
        ],
    }
    if tiktok is not None:
        data["connectors"].append(
            {
                "name": "tiktok_ads",
                "type": "tiktok_ads",
                "streams": ["ad_performance"],
                "endpoint": tiktok.base_url,
                "accounts": tiktok.account_ids,
                "max_retry_wait_minutes": 0.1,
                "retry_base_delay_seconds": 0.01,
                "retry_max_delay_seconds": 1,
                "request_timeout_seconds": 10,
                "credentials": {"access_token": "env:MDP_FM_TIKTOK_ACCESS_TOKEN"},
            }
        )
    if linkedin is not None:
        data["connectors"].append(
            {
                "name": "linkedin_ads",
                "type": "linkedin_ads",
                "streams": ["ad_performance"],
                "endpoint": linkedin.api_url,
                "token_url": linkedin.token_url,
                "accounts": linkedin.account_ids,
                "max_retry_wait_minutes": 0.1,
                "request_timeout_seconds": 10,
                "credentials": {
                    "client_id": "env:MDP_FM_LINKEDIN_CLIENT_ID",
                    "client_secret": "env:MDP_FM_LINKEDIN_CLIENT_SECRET",  # pragma: allowlist secret
                    "refresh_token": "env:MDP_FM_LINKEDIN_REFRESH_TOKEN",
                },
            }
        )
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


SPEND = {  # channel: (raw table, account column, spend in account currency units)
    "google_ads": ("raw_google_ads.ad_performance", "customer_id", "sum(cost_micros) / 1000000"),
    "meta_ads": ("raw_meta_ads.ad_insights", "account_id", "round(sum(spend), 2)"),
    "microsoft_ads": ("raw_microsoft_ads.ad_performance", "account_id", "round(sum(spend), 2)"),
    "tiktok_ads": ("raw_tiktok_ads.ad_performance", "account_id", "round(sum(spend), 2)"),
    "linkedin_ads": ("raw_linkedin_ads.ad_performance", "account_id", "round(sum(cost_in_local_currency), 2)"),
}


def loaded(path: Path) -> dict[tuple[str, str, dt.date], Decimal]:
    """Spend per (channel, account, day) in the raw tables that exist, in account currency units."""
    found: dict[tuple[str, str, dt.date], Decimal] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for channel, (table, account, spend) in SPEND.items():
            schema, name = table.split(".")
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [schema, name],
            ).fetchone()
            if not exists or not exists[0]:
                continue
            for acc, day, value in con.execute(f"SELECT {account}, date, {spend} FROM {table} GROUP BY ALL").fetchall():
                found[(channel, str(acc), day)] = Decimal(str(value)).quantize(Decimal("0.01"))
    return found


def quarantined(path: Path, connector: str, account: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        found = con.execute(
            "SELECT sum(quarantined) FROM ops.load_log WHERE connector = ? AND account_id = ?", [connector, account]
        ).fetchone()
    return int(found[0] or 0) if found else 0


@pytest.mark.parametrize(
    ("channel", "kind", "params", "times", "outcome"),
    MATRIX,
    ids=[f"{c}-{k}-{'every-call' if t is None else f'{t}-call'}" for c, k, _, t, _ in MATRIX],
)
def test_fault_matrix(
    tmp_path: Path,
    google_sandbox: GoogleAdsSandbox,
    meta_sandbox: MetaSandbox,
    microsoft_sandbox: MicrosoftAdsSandbox,
    tiktok_sandbox: TikTokAdsSandbox,
    linkedin_sandbox: LinkedInAdsSandbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    channel: str,
    kind: str,
    params: dict[str, Any],
    times: int | None,
    outcome: str,
) -> None:
    from flows.daily import daily_pipeline

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    servers = {
        "google_ads": google_sandbox,
        "meta_ads": meta_sandbox,
        "microsoft_ads": microsoft_sandbox,
        "tiktok_ads": tiktok_sandbox,
        "linkedin_ads": linkedin_sandbox,
    }
    server = servers[channel]
    faulted = server.account_ids[0]
    options = dict(params)
    method = options.pop("method", None)
    server.faults.add(Fault(kind, channel=channel, account=faulted, method=method, times=times, params=options))
    config = write_config(tmp_path, google_sandbox, meta_sandbox, microsoft_sandbox, tiktok_sandbox, linkedin_sandbox)
    with caplog.at_level(logging.DEBUG):
        state = asyncio.run(
            daily_pipeline(
                config_path=str(config),
                start_date=START,
                end_date=END,
                connectors=[channel],
                run_dbt=False,
                run_monitoring=False,
                return_state=True,
            )
        )
    message = str(state.message or "")
    got = loaded(tmp_path / "wh.duckdb")
    days = [START + dt.timedelta(days=n) for n in range((END - START).days + 1)]
    for name, sandbox in ((channel, server),):
        for account in sandbox.account_ids:
            key_account = account.removeprefix("act_")
            if (name, account) == (channel, faulted) and outcome == FAILS:
                assert state.is_failed(), message
                assert re.search(rf"{name} \w+ account {key_account}", message), message
                assert not any(k[:2] == (name, key_account) for k in got), "a failed account must load nothing"
                continue
            if (name, account) == (channel, faulted) and outcome == QUARANTINE_FAILS:
                assert state.is_failed(), message
                assert re.search(rf"{name} \w+ account {key_account} \S+: \d+ row\(s\) quarantined", message), message
                assert quarantined(tmp_path / "wh.duckdb", name, key_account) >= 1
                continue
            for day in days:
                truth = sandbox.truth.day_totals(name, account, day, level="account").cost
                assert got.get((name, key_account, day), Decimal(0)) == truth.quantize(Decimal("0.01")), (
                    name,
                    account,
                    day,
                )
    if outcome == RECOVERS:
        assert state.is_completed(), message

    captured = capfd.readouterr()
    text = caplog.text + captured.out + captured.err + message
    warehouse_bytes = (tmp_path / "wh.duckdb").read_bytes()
    for secret in SECRETS.values():
        assert secret not in text
        assert secret.encode() not in warehouse_bytes
