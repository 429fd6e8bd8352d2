"""The connector conformance suite: every stream of every connector with a sandbox target, checked the same
way (like Airbyte's acceptance tests or the Meltano SDK's standard tap tests).

For each (connector type, stream): batches match the declared schema; rows stay inside the requested days
and account; the same "as of" gives identical rows; a day without data gives no rows and no error (report
streams); a retryable API error is a RetryableAPIError and a refused permission is a fatal ConnectorError;
no secret reaches the logs. A new connector is done when it has a TARGETS entry and passes.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest

from connectors.base import Connector
from connectors.registry import connector_class
from mdp.errors import ConnectorError, RetryableAPIError
from sandbox import GoogleAdsSandbox, LinkedInAdsSandbox, MetaSandbox, MicrosoftAdsSandbox, TikTokAdsSandbox
from sandbox.faults import Fault

DAY = dt.date(2025, 3, 10)  # inside the session sandbox's history (as of 2025-03-20)
DEVELOPER_TOKEN = "dev-" + secrets.token_hex(12)
ACCESS_TOKEN = "ya29." + secrets.token_hex(16)
META_TOKEN = "EAAB" + secrets.token_hex(20)
MSADS_REFRESH = "M.C5" + secrets.token_hex(24)
MSADS_CLIENT = secrets.token_hex(16)
MSADS_DEVELOPER = "dev" + secrets.token_hex(8)
LINKEDIN_CLIENT = "li" + secrets.token_hex(8)
LINKEDIN_SECRET = "WPL_AP1." + secrets.token_hex(12)  # pragma: allowlist secret
LINKEDIN_REFRESH = "AQW" + secrets.token_hex(24)
TIKTOK_TOKEN = "act." + secrets.token_hex(20)
TIKTOK_SECRET = secrets.token_hex(20)


@dataclass(frozen=True)
class Target:
    """How to run one connector type on its sandbox: the settings, the sandbox fixture and its faults."""

    sandbox_fixture: str
    settings: Callable[[Any], dict[str, Any]]
    account: Callable[[Any], str]
    retryable: Fault
    fatal: Fault


TARGETS: dict[str, Target] = {
    "google_ads": Target(
        "google_sandbox",
        lambda sb: {
            "endpoint": sb.endpoint,
            "login_customer_id": sb.manager_id,
            "accounts": list(sb.account_ids),
            "credentials": {"developer_token": "env:CONF_GOOGLE_DEV", "access_token": "env:CONF_GOOGLE_ACCESS"},
            "request_timeout_seconds": 10,
            "retry": {"max_attempts": 2, "initial_delay_seconds": 0.01, "max_delay_seconds": 0.05},
            "custom_queries": [
                {"name": "by_network", "query": "SELECT segments.ad_network_type, metrics.cost_micros FROM campaign"}
            ],
            "passthrough_fields": ["metrics.video_trueview_views"],
        },
        lambda sb: sb.account_ids[0],
        Fault("unavailable"),
        Fault("permission_denied"),
    ),
    "meta_ads": Target(
        "meta_sandbox",
        lambda sb: {
            "graph_url": sb.base_url,
            "accounts": list(sb.account_ids),
            "credentials": {"access_token": "env:CONF_META_TOKEN"},
            "max_retries": 1,
            "job_attempts": 1,
            "retry_base_delay_seconds": 0.001,
            "throttle_pause_seconds": 0.001,
            "poll_initial_seconds": 0.001,
            "poll_max_seconds": 0.004,
        },
        lambda sb: sb.account_ids[0],
        Fault("internal"),
        Fault("permission_denied"),
    ),
    "microsoft_ads": Target(
        "microsoft_sandbox",
        lambda sb: {
            "endpoint": sb.base_url,
            "token_url": sb.token_url,
            "customer_id": sb.customer_id,
            "accounts": list(sb.account_ids),
            "credentials": {
                "refresh_token": "env:CONF_MSADS_REFRESH",
                "client_id": "env:CONF_MSADS_CLIENT",
                "developer_token": "env:CONF_MSADS_DEVELOPER",
            },
            "request_timeout_seconds": 10,
            "poll_initial_seconds": 0.001,
            "poll_max_seconds": 0.004,
        },
        lambda sb: sb.account_ids[0],
        Fault("throttle"),
        Fault("permission_denied"),
    ),
    "tiktok_ads": Target(
        "tiktok_sandbox",
        lambda sb: {
            "endpoint": sb.base_url,
            "app_id": sb.app_id,
            "credentials": {
                "access_token": "env:CONF_TIKTOK_TOKEN",
                "secret": "env:CONF_TIKTOK_SECRET",  # pragma: allowlist secret
            },
            "request_timeout_seconds": 10,
            "max_retries": 1,
            "retry_base_delay_seconds": 0.001,
            "retry_max_delay_seconds": 0.004,
        },
        lambda sb: sb.account_ids[0],
        Fault("throttle"),
        Fault("permission_denied"),
    ),
    "linkedin_ads": Target(
        "linkedin_sandbox",
        lambda sb: {
            "endpoint": sb.api_url,
            "token_url": sb.token_url,
            "accounts": list(sb.account_ids),
            "credentials": {
                "client_id": "env:CONF_LINKEDIN_CLIENT",
                "client_secret": "env:CONF_LINKEDIN_SECRET",  # pragma: allowlist secret
                "refresh_token": "env:CONF_LINKEDIN_REFRESH",
            },
            "request_timeout_seconds": 10,
        },
        lambda sb: sb.account_ids[0],
        Fault("throttle", params={"retry_after": 0}),
        Fault("permission_denied"),
    ),
}
SECRETS = {
    "CONF_GOOGLE_DEV": DEVELOPER_TOKEN,
    "CONF_GOOGLE_ACCESS": ACCESS_TOKEN,
    "CONF_META_TOKEN": META_TOKEN,
    "CONF_MSADS_REFRESH": MSADS_REFRESH,
    "CONF_MSADS_CLIENT": MSADS_CLIENT,
    "CONF_MSADS_DEVELOPER": MSADS_DEVELOPER,
    "CONF_LINKEDIN_CLIENT": LINKEDIN_CLIENT,
    "CONF_LINKEDIN_SECRET": LINKEDIN_SECRET,
    "CONF_LINKEDIN_REFRESH": LINKEDIN_REFRESH,
    "CONF_TIKTOK_TOKEN": TIKTOK_TOKEN,
    "CONF_TIKTOK_SECRET": TIKTOK_SECRET,
}
CASES = [(t, s.name) for t in TARGETS for s in connector_class(t).streams]
REPORT_CASES = [(t, s.name) for t in TARGETS for s in connector_class(t).streams if s.kind == "report"]
# streams a configuration declares (custom queries) are checked like the declared ones
CASES += [("google_ads", "custom_by_network")]
REPORT_CASES += [("google_ads", "custom_by_network")]


@pytest.fixture
def build(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """`build(type)` -> (connector on that type's sandbox, the sandbox)."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    built: list[Connector] = []

    def make(type_name: str) -> tuple[Connector, Any]:
        target = TARGETS[type_name]
        sandbox: GoogleAdsSandbox | MetaSandbox | MicrosoftAdsSandbox | TikTokAdsSandbox | LinkedInAdsSandbox = (
            request.getfixturevalue(target.sandbox_fixture)
        )
        cls = connector_class(type_name)
        settings = cls.settings_model.model_validate(
            {"name": f"conf_{type_name}", "type": type_name, **target.settings(sandbox)}
        )
        connector = cls(settings)
        built.append(connector)
        return connector, sandbox

    yield make
    for connector in built:
        connector.close()


def extract(connector: Connector, stream: str, account: str, start: dt.date, end: dt.date) -> pa.Table:
    spec = connector.stream(stream).table
    tables = []
    for batch in connector.extract(stream, account, start, end):
        assert batch.rows.schema.names == spec.schema.names, f"{stream}: columns differ from the declared schema"
        for got, declared in zip(batch.rows.schema, spec.schema, strict=True):
            assert got.type == declared.type, f"{stream}.{got.name}: {got.type} != declared {declared.type}"
        tables.append(batch.rows)
    return pa.concat_tables(tables) if tables else spec.schema.empty_table()


def window(connector: Connector, stream: str) -> tuple[dt.date, dt.date]:
    """Two days for a report stream; the snapshot day for a snapshot stream."""
    if connector.stream(stream).kind == "snapshot":
        return DAY, DAY
    return DAY - dt.timedelta(days=1), DAY


@pytest.mark.parametrize(("type_name", "stream"), CASES)
def test_rows_match_the_schema_stay_in_scope_repeat_and_keep_secrets(
    type_name: str, stream: str, build: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    connector, sandbox = build(type_name)
    spec = connector.stream(stream).table
    account = TARGETS[type_name].account(sandbox)
    start, end = window(connector, stream)
    with caplog.at_level(logging.DEBUG):
        first = extract(connector, stream, account, start, end)
        second = extract(connector, stream, account, start, end)
    assert first.num_rows > 0, f"{stream}: no rows for {account} {start}..{end}"
    days = set(first.column(spec.date_column).to_pylist())
    assert days <= {start + dt.timedelta(days=n) for n in range((end - start).days + 1)}
    assert set(first.column(spec.account_column).to_pylist()) == {account.removeprefix("act_")}
    for field in spec.schema:
        if not field.nullable:
            assert first.column(field.name).null_count == 0, f"{stream}.{field.name} is declared not null"
    order = [(name, "ascending") for name in spec.schema.names if not pa.types.is_nested(spec.schema.field(name).type)]
    assert first.sort_by(order).equals(second.sort_by(order)), f"{stream}: the same as-of gave different rows"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in SECRETS.values():
        assert secret not in logged


@pytest.mark.parametrize(("type_name", "stream"), REPORT_CASES)
def test_a_day_without_data_gives_no_rows_and_no_error(type_name: str, stream: str, build: Callable[..., Any]) -> None:
    """No rows, except in the platform totals stream: one zero row ("nothing was spent" is a total too)."""
    connector, sandbox = build(type_name)
    after = sandbox.truth.as_of + dt.timedelta(days=1)  # the sandbox has no data after its clock
    rows = extract(connector, stream, TARGETS[type_name].account(sandbox), after, after)
    if stream != connector.totals_stream:
        assert rows.num_rows == 0
        return
    assert rows.num_rows == 1
    assert rows.column("date").to_pylist() == [after]
    numeric = [f.name for f in rows.schema if pa.types.is_integer(f.type) or pa.types.is_decimal(f.type)]
    numeric += [f.name for f in rows.schema if pa.types.is_floating(f.type)]
    assert numeric
    assert all(rows.column(name).to_pylist() == [0] for name in numeric)


@pytest.mark.parametrize("type_name", sorted(TARGETS))
def test_the_platform_totals_equal_the_primary_stream(type_name: str, build: Callable[..., Any]) -> None:
    """On the sandbox (whose rows all add up), the account's own totals equal the primary stream's sums."""
    connector, sandbox = build(type_name)
    assert connector.totals_stream is not None, f"{type_name} declares no platform totals stream"
    account = TARGETS[type_name].account(sandbox)
    end = sandbox.truth.as_of - dt.timedelta(days=1)
    start = end - dt.timedelta(days=3)
    totals = extract(connector, connector.totals_stream, account, start, end)
    primary = extract(connector, connector.streams[0].name, account, start, end)
    assert totals.num_rows == 4
    spend = {
        "google_ads": "cost_micros",
        "meta_ads": "spend",
        "microsoft_ads": "spend",
        "tiktok_ads": "spend",
        "linkedin_ads": "cost_in_local_currency",
    }[type_name]
    for column in ("impressions", "clicks", spend):
        by_day = primary.group_by("date").aggregate([(column, "sum")])
        landed = dict(zip(by_day.column("date").to_pylist(), by_day.column(f"{column}_sum").to_pylist(), strict=True))
        platform = dict(zip(totals.column("date").to_pylist(), totals.column(column).to_pylist(), strict=True))
        assert landed == platform, f"{type_name} {column}"


@pytest.mark.parametrize(("type_name", "stream"), CASES)
def test_errors_are_classified(type_name: str, stream: str, build: Callable[..., Any]) -> None:
    connector, sandbox = build(type_name)
    target = TARGETS[type_name]
    account = target.account(sandbox)
    start, end = window(connector, stream)
    sandbox.faults.add(target.retryable)
    with pytest.raises(RetryableAPIError):
        extract(connector, stream, account, start, end)
    sandbox.faults.clear()
    sandbox.faults.add(target.fatal)
    with pytest.raises(ConnectorError) as raised:
        extract(connector, stream, account, start, end)
    assert not isinstance(raised.value, RetryableAPIError), f"{stream}: a refused permission must not be retried"


def test_an_unknown_stream_fails_before_any_call(build: Callable[..., Any]) -> None:
    for type_name in TARGETS:
        connector, sandbox = build(type_name)
        sandbox.calls.reset()
        with pytest.raises(KeyError, match="no stream 'nope'"):
            list(connector.extract("nope", TARGETS[type_name].account(sandbox), DAY, DAY))
        assert sandbox.calls.total() == 0
