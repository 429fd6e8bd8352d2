"""The Microsoft Advertising connector (the real bingads SDK) against the session's Microsoft sandbox, with poll
delays shrunk so a report costs milliseconds."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.microsoft_ads.connector import MicrosoftAdsConnector
from connectors.microsoft_ads.settings import MicrosoftAdsSettings
from sandbox import MicrosoftAdsSandbox

REFRESH_ENV = "MDP_TEST_MSADS_REFRESH_TOKEN"
CLIENT_ENV = "MDP_TEST_MSADS_CLIENT_ID"
SECRET_ENV = "MDP_TEST_MSADS_CLIENT_SECRET"  # pragma: allowlist secret
DEVELOPER_ENV = "MDP_TEST_MSADS_DEVELOPER_TOKEN"
FAST: dict[str, Any] = {"poll_initial_seconds": 0.001, "poll_max_seconds": 0.004, "request_timeout_seconds": 5}


@pytest.fixture(scope="session")
def msads_secrets() -> dict[str, str]:
    return {
        REFRESH_ENV: "M.C5_BAY." + secrets.token_hex(24),
        CLIENT_ENV: secrets.token_hex(16),
        SECRET_ENV: "cs~" + secrets.token_hex(12),  # pragma: allowlist secret
        DEVELOPER_ENV: "1" + secrets.token_hex(8).upper(),
    }


@pytest.fixture
def make_connector(
    microsoft_sandbox: MicrosoftAdsSandbox, msads_secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., MicrosoftAdsConnector]]:
    """`make_connector(**settings)`: a connector on the sandbox, its credentials in the environment."""
    for name, value in msads_secrets.items():
        monkeypatch.setenv(name, value)
    built: list[MicrosoftAdsConnector] = []

    def make(**overrides: Any) -> MicrosoftAdsConnector:
        settings = {
            "name": "msads",
            "type": "microsoft_ads",
            "endpoint": microsoft_sandbox.base_url,
            "token_url": microsoft_sandbox.token_url,
            "customer_id": microsoft_sandbox.customer_id,
            "accounts": list(microsoft_sandbox.account_ids),
            "credentials": {
                "refresh_token": f"env:{REFRESH_ENV}",
                "client_id": f"env:{CLIENT_ENV}",
                "client_secret": f"env:{SECRET_ENV}",
                "developer_token": f"env:{DEVELOPER_ENV}",
            },
            **FAST,
            **overrides,
        }
        connector = MicrosoftAdsConnector(MicrosoftAdsSettings.model_validate(settings))
        built.append(connector)
        return connector

    yield make
    for connector in built:
        connector.close()
