"""Build the Google Ads connector against the session's sandbox, with secrets from the environment and
tiny retry delays."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.google_ads.connector import GoogleAdsConnector
from connectors.google_ads.settings import GoogleAdsSettings
from sandbox import GoogleAdsSandbox

DEVELOPER_TOKEN = "dev-token-7f3a9c51e2"
ACCESS_TOKEN = "ya29.access-token-b84d02ee61"
FAST_RETRY = {"max_attempts": 4, "initial_delay_seconds": 0.01, "max_delay_seconds": 2, "jitter": 0.5}

ConnectorFactory = Callable[..., GoogleAdsConnector]


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GOOGLE_ADS_DEVELOPER_TOKEN", DEVELOPER_TOKEN)
    monkeypatch.setenv("TEST_GOOGLE_ADS_ACCESS_TOKEN", ACCESS_TOKEN)


@pytest.fixture
def make_connector(google_sandbox: GoogleAdsSandbox, secrets_env: None) -> Iterator[ConnectorFactory]:
    """`make_connector(**settings)`: a connector on the sandbox; closed after the test."""
    built: list[GoogleAdsConnector] = []

    def build(**overrides: Any) -> GoogleAdsConnector:
        options: dict[str, Any] = {
            "name": "google_ads",
            "type": "google_ads",
            "endpoint": google_sandbox.endpoint,
            "login_customer_id": google_sandbox.manager_id,
            "accounts": list(google_sandbox.account_ids),
            "credentials": {
                "developer_token": "env:TEST_GOOGLE_ADS_DEVELOPER_TOKEN",
                "access_token": "env:TEST_GOOGLE_ADS_ACCESS_TOKEN",
            },
            "request_timeout_seconds": 10,
            "retry": FAST_RETRY,
        }
        options.update(overrides)
        connector = GoogleAdsConnector(GoogleAdsSettings.model_validate(options))
        built.append(connector)
        return connector

    yield build
    for connector in built:
        connector.close()
