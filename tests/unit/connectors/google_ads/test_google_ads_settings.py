"""Settings validation, GAQL text, error classification and backoff: pure logic, no server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.ads.googleads.errors import GoogleAdsException
from google.api_core import exceptions as core_exceptions
from google.auth import exceptions as auth_exceptions
from pydantic import ValidationError

from connectors import registry
from connectors.google_ads.connector import GoogleAdsConnector
from connectors.google_ads.exceptions import classify, parse_failure
from connectors.google_ads.schema import AD_PERFORMANCE
from connectors.google_ads.settings import (
    API_VERSION,
    FAILURE_METADATA_KEY,
    GoogleAdsSettings,
    RetrySettings,
    ad_query,
    campaign_query,
    customer_client_query,
)
from mdp.config import load_config
from mdp.errors import ConfigError

CREDENTIALS = {"developer_token": "env:DEV", "access_token": "env:TOKEN"}


def settings(**overrides: Any) -> GoogleAdsSettings:
    options: dict[str, Any] = {
        "name": "google_ads",
        "type": "google_ads",
        "accounts": ["123-456-7890"],
        "credentials": CREDENTIALS,
    }
    options.update(overrides)
    return GoogleAdsSettings.model_validate(options)


def test_defaults_and_normalised_ids() -> None:
    s = settings(login_customer_id="111-222-3333")
    assert s.accounts == ["1234567890"]
    assert s.login_customer_id == "1112223333"
    assert s.endpoint is None
    assert s.request_timeout_seconds == 300
    assert s.retry == RetrySettings()
    assert GoogleAdsConnector(s).lookback_days == 14


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"accounts": ["12345"]}, "10-digit"),
        ({"accounts": ["1234567890", "123-456-7890"]}, "listed twice"),
        ({"accounts": []}, "manager_customer_id"),
        ({"endpoint": "http://127.0.0.1:1"}, "endpoint"),
        ({"credentials": {"access_token": "env:T"}}, "developer_token is required"),
        ({"credentials": {"developer_token": "env:D"}}, "exactly one of"),
        ({"credentials": {**CREDENTIALS, "refresh_token": "env:R"}}, "exactly one of"),
        ({"credentials": {"developer_token": "env:D", "refresh_token": "env:R"}}, "client_id"),
        ({"credentials": {**CREDENTIALS, "password": "env:P"}}, "unknown key"),  # pragma: allowlist secret
        ({"credentials": {**CREDENTIALS, "access_token": "ya29.literal"}}, "secret reference"),
        ({"retry": {"max_attempts": 0}}, "max_attempts"),
        ({"retry": {"tries": 3}}, "tries"),
        ({"retry": {"initial_delay_seconds": False}}, "expected a number, got the boolean false"),
        ({"retry": {"max_attempts": True}}, "expected a number, got the boolean true"),
        ({"page_size": 10}, "page_size"),
    ],
)
def test_invalid_settings_name_the_key(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(**overrides)


def test_discovery_needs_no_account_list() -> None:
    s = settings(accounts=[], manager_customer_id="9998887777")
    assert s.discovery_root == "9998887777"
    assert GoogleAdsConnector(s).login_customer_id == "9998887777"
    assert settings(accounts=[], login_customer_id="9998887777").discovery_root == "9998887777"


def test_the_registry_builds_it_from_pipeline_yaml_without_any_call(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "connectors:\n"
        "  - name: google_ads\n    type: google_ads\n    endpoint: 127.0.0.1:50051\n"
        "    login_customer_id: '1112223333'\n    accounts: ['1234567890']\n"
        "    credentials: {developer_token: env:NOPE_DEV, access_token: env:NOPE_TOKEN}\n"
        "    retry: {max_attempts: 2, initial_delay_seconds: 0.1}\n"
    )
    config = load_config(path)
    [connector] = registry.build_connectors(config)
    assert isinstance(connector, GoogleAdsConnector)
    assert connector.settings.retry.max_attempts == 2
    described = connector.describe()
    assert described["endpoint"] == "127.0.0.1:50051"
    assert described["auth"] == "access_token"
    # secrets are resolved on first use, with a message naming the key (never a value)
    with pytest.raises(ConfigError, match=r"connectors.google_ads.credentials.(developer_token|access_token)"):
        list(connector.extract("ad_performance", "1234567890", dt.date(2025, 3, 1), dt.date(2025, 3, 1)))


def test_a_bad_section_fails_with_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "connectors:\n  - {name: google_ads, type: google_ads, accounts: ['1'], "
        "credentials: {developer_token: 'env:D', access_token: 'env:T'}}\n"
    )
    with pytest.raises(ConfigError, match="accounts"):
        registry.build_connectors(load_config(path))


def test_gaql_is_one_query_per_chunk_with_every_column() -> None:
    start, end = dt.date(2025, 3, 1), dt.date(2025, 3, 31)
    query = ad_query(start, end)
    assert query.startswith("SELECT segments.date, customer.id, ")
    assert query.endswith("FROM ad_group_ad WHERE segments.date BETWEEN '2025-03-01' AND '2025-03-31'")
    assert "ad_group_ad.ad.id" in query
    assert "metrics.view_through_conversions" in query
    campaign = campaign_query(start, end)
    assert "FROM campaign WHERE" in campaign
    assert "ad_group" not in campaign
    assert "metrics." not in customer_client_query()
    assert set(AD_PERFORMANCE.schema.names) - {"row_level"} == {
        c for c in AD_PERFORMANCE.column_docs if c != "row_level"
    }


def _failure_bytes(group: str, name: str, retry_seconds: int | None = None) -> bytes:
    from google.ads.googleads.v26.errors.types import errors

    failure = errors.GoogleAdsFailure.pb()()
    error = failure.errors.add()
    enum = error.error_code.DESCRIPTOR.fields_by_name[group].enum_type
    setattr(error.error_code, group, enum.values_by_name[name].number)
    error.message = f"{name} happened"
    if retry_seconds is not None:
        error.details.quota_error_details.retry_delay.seconds = retry_seconds
    failure.request_id = "req-1"
    return bytes(failure.SerializeToString())


class FakeCall(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, metadata: tuple[tuple[str, Any], ...] = ()) -> None:
        self._code, self._metadata = code, metadata

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "details"

    def trailing_metadata(self) -> tuple[tuple[str, Any], ...]:
        return self._metadata


def test_the_api_version_lives_in_one_constant() -> None:
    assert f"google.ads.googleads.{API_VERSION}.errors.googleadsfailure-bin" == FAILURE_METADATA_KEY
    assert parse_failure(_failure_bytes("quota_error", "RESOURCE_EXHAUSTED")) is not None
    assert parse_failure(b"\xff\xff not a proto") is None


@pytest.mark.parametrize(
    ("exc", "retryable", "errors", "delay"),
    [
        (
            core_exceptions.ResourceExhausted(
                "429",
                response=FakeCall(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    (
                        (
                            FAILURE_METADATA_KEY,
                            _failure_bytes("quota_error", "RESOURCE_TEMPORARILY_EXHAUSTED", 7),
                        ),
                        ("request-id", "req-1"),
                    ),
                ),
            ),
            True,
            ("quota_error.RESOURCE_TEMPORARILY_EXHAUSTED",),
            7.0,
        ),
        (
            core_exceptions.ResourceExhausted(
                "429",
                response=FakeCall(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    ((FAILURE_METADATA_KEY, _failure_bytes("quota_error", "RESOURCE_EXHAUSTED", 86400)),),
                ),
            ),
            False,
            ("quota_error.RESOURCE_EXHAUSTED",),
            86400.0,
        ),
        (
            core_exceptions.InternalServerError("500", response=FakeCall(grpc.StatusCode.INTERNAL)),
            True,
            (),
            None,
        ),
        (
            core_exceptions.ServiceUnavailable("503", response=FakeCall(grpc.StatusCode.UNAVAILABLE)),
            True,
            (),
            None,
        ),
        (
            core_exceptions.DeadlineExceeded("504", response=FakeCall(grpc.StatusCode.DEADLINE_EXCEEDED)),
            True,
            (),
            None,
        ),
        (
            core_exceptions.InvalidArgument("400", response=FakeCall(grpc.StatusCode.INVALID_ARGUMENT)),
            False,
            (),
            None,
        ),
        (FakeCall(grpc.StatusCode.UNAVAILABLE), True, (), None),
        (
            auth_exceptions.RefreshError("invalid_grant: Bad Request", {"error": "invalid_grant"}),
            False,
            ("authentication_error.OAUTH_TOKEN_REFRESH_FAILED",),
            None,
        ),
        (auth_exceptions.TransportError("connection refused"), True, (), None),
    ],
)
def test_classification(exc: BaseException, retryable: bool, errors: tuple[str, ...], delay: float | None) -> None:
    failure = classify(exc)
    assert failure is not None
    assert failure.retryable is retryable
    assert failure.errors == errors
    assert failure.retry_delay == delay


def test_google_ads_exceptions_keep_code_and_request_id() -> None:
    from google.ads.googleads.v26.errors.types import errors

    failure = errors.GoogleAdsFailure.deserialize(_failure_bytes("authorization_error", "USER_PERMISSION_DENIED"))
    call = FakeCall(grpc.StatusCode.PERMISSION_DENIED)
    described = classify(GoogleAdsException(call, call, failure, "req-9"))
    assert described is not None
    assert not described.retryable
    assert described.describe() == (
        "PERMISSION_DENIED authorization_error.USER_PERMISSION_DENIED (request id req-9): "
        "USER_PERMISSION_DENIED happened"
    )


def test_other_exceptions_are_not_api_failures() -> None:
    assert classify(ValueError("bug")) is None


def test_backoff_grows_is_capped_jittered_and_honours_the_api() -> None:
    policy = RetrySettings(initial_delay_seconds=1, multiplier=2, max_delay_seconds=5, jitter=0.5).policy()
    assert [policy.delay(n, None, 0.0) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    assert policy.delay(2, None, 0.999) == pytest.approx(1.001)
    assert policy.delay(1, 3.0, 0.5) == 3.0
    assert policy.max_wait == 5  # a longer retry_delay is left to the flow's unit retries
    assert RetrySettings(jitter=0).policy().delay(1, None, 0.7) == 1.0


@pytest.mark.parametrize("trace", ["api", "http,call_error", "all"])
def test_grpc_core_tracing_is_refused_because_it_prints_the_tokens(monkeypatch: pytest.MonkeyPatch, trace: str) -> None:
    from connectors.google_ads.connector import GoogleAdsConnector
    from connectors.google_ads.settings import GoogleAdsSettings
    from mdp.errors import ConfigError

    settings = GoogleAdsSettings.model_validate(
        {
            "name": "google_ads",
            "type": "google_ads",
            "accounts": ["1234567890"],
            "credentials": {"developer_token": "env:X_DEV", "access_token": "env:X_ACCESS"},
        }
    )
    monkeypatch.setenv("GRPC_TRACE", trace)
    with pytest.raises(ConfigError, match=f"GRPC_TRACE={trace} would print the Google Ads developer token"):
        GoogleAdsConnector(settings)
    monkeypatch.setenv("GRPC_TRACE", "")
    GoogleAdsConnector(settings)
