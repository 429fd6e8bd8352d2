"""Credentials: built from references without calling Google at construction, refreshed against a
configurable token endpoint, and never in logs or exception messages (google-ads logging at DEBUG)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.google_ads.exceptions import GoogleAdsAPIError
from mdp.errors import ConnectorError, RetryableAPIError
from sandbox import Fault, GoogleAdsSandbox
from tests.integration.conftest import LoopbackServer
from tests.integration.connectors.google_ads.conftest import (
    ACCESS_TOKEN,
    DEVELOPER_TOKEN,
    ConnectorFactory,
)

DAY = dt.date(2025, 3, 18)
REFRESH_TOKEN = "1//refresh-token-5c0ffee9d1"
CLIENT_SECRET = "GOCSPX-client-secret-42ab77"  # pragma: allowlist secret
CLIENT_ID = "123456789-client.apps.googleusercontent.com"
FRESH_TOKEN = "ya29.fresh-from-token-uri-9e8d"


class TokenEndpoint:
    """A local OAuth token endpoint: refresh-token and JWT-bearer grants, or invalid_grant."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.accept = True
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                endpoint.requests.append(form)
                known = form.get("refresh_token") == REFRESH_TOKEN or "assertion" in form
                if endpoint.accept and known:
                    status, body = (
                        200,
                        {"access_token": FRESH_TOKEN, "expires_in": 3600, "token_type": "Bearer"},
                    )
                else:
                    status, body = (
                        400,
                        {"error": "invalid_grant", "error_description": "Token has been revoked."},
                    )
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return

        self.server = LoopbackServer(Handler)
        self.url = self.server.url("/token")

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def token_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenEndpoint]:
    monkeypatch.setenv("TEST_GOOGLE_ADS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TEST_GOOGLE_ADS_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("TEST_GOOGLE_ADS_REFRESH_TOKEN", REFRESH_TOKEN)
    endpoint = TokenEndpoint()
    yield endpoint
    endpoint.close()


OAUTH = {
    "developer_token": "env:TEST_GOOGLE_ADS_DEVELOPER_TOKEN",
    "client_id": "env:TEST_GOOGLE_ADS_CLIENT_ID",
    "client_secret": "env:TEST_GOOGLE_ADS_CLIENT_SECRET",  # pragma: allowlist secret
    "refresh_token": "env:TEST_GOOGLE_ADS_REFRESH_TOKEN",
}


def test_refresh_token_credentials_use_the_configured_token_uri_only_when_extracting(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox, token_endpoint: TokenEndpoint
) -> None:
    connector = make_connector(credentials=OAUTH, token_uri=token_endpoint.url)
    connector.describe()
    assert token_endpoint.requests == []  # construction calls nobody
    account = google_sandbox.account_ids[0]
    batches = list(connector.extract("ad_performance", account, DAY, DAY))
    assert batches[0].rows.num_rows > 0
    list(connector.extract("ad_performance", google_sandbox.account_ids[1], DAY, DAY))
    assert len(token_endpoint.requests) == 1  # one token for every call while it is valid
    grant = token_endpoint.requests[0]
    assert grant["grant_type"] == "refresh_token"
    assert grant["refresh_token"] == REFRESH_TOKEN


def test_a_revoked_refresh_token_is_fatal_and_never_echoed(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox, token_endpoint: TokenEndpoint
) -> None:
    token_endpoint.accept = False
    connector = make_connector(credentials=OAUTH, token_uri=token_endpoint.url)
    with pytest.raises(GoogleAdsAPIError) as caught:
        list(connector.extract("ad_performance", google_sandbox.account_ids[0], DAY, DAY))
    message = str(caught.value)
    assert "UNAUTHENTICATED" in message
    assert "invalid_grant" in message
    assert not isinstance(caught.value, RetryableAPIError)
    for secret in (REFRESH_TOKEN, CLIENT_SECRET, DEVELOPER_TOKEN):
        assert secret not in message
    assert google_sandbox.calls.total() == 0


def test_service_account_key_credentials(
    make_connector: ConnectorFactory,
    google_sandbox: GoogleAdsSandbox,
    token_endpoint: TokenEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "mdp-test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "ingest@mdp-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_endpoint.url,
    }
    monkeypatch.setenv("TEST_GOOGLE_ADS_SA_KEY", json.dumps(info))
    connector = make_connector(
        credentials={
            "developer_token": "env:TEST_GOOGLE_ADS_DEVELOPER_TOKEN",
            "service_account_key": "env:TEST_GOOGLE_ADS_SA_KEY",  # pragma: allowlist secret
        },
        impersonated_email="ads-admin@example.com",
    )
    assert next(iter(connector.extract("ad_performance", google_sandbox.account_ids[0], DAY, DAY))).rows.num_rows > 0
    assert len(token_endpoint.requests) == 1
    assert "assertion" in token_endpoint.requests[0]


def test_no_secret_reaches_the_logs_or_error_messages(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="google.ads.googleads.client")
    # google-api-core stops "google.*" records at the "google" logger: listen to the client directly.
    client_logger = logging.getLogger("google.ads.googleads.client")
    client_logger.addHandler(caplog.handler)
    try:
        _extract_with_faults(make_connector, google_sandbox, caplog)
    finally:
        client_logger.removeHandler(caplog.handler)


def _extract_with_faults(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    connector = make_connector(accounts=[], manager_customer_id=google_sandbox.manager_id)
    connector._sleep = lambda _: None
    first, second, third = google_sandbox.account_ids
    google_sandbox.faults.add(Fault("revoked", account=first))
    google_sandbox.faults.add(Fault("quota_retry", account=second, times=1, params={"retry_delay_seconds": 0}))
    google_sandbox.faults.add(Fault("quota_daily", account=third))
    messages = [str(connector.describe())]
    assert len(connector.list_accounts()) == 3
    for account in (first, second, third):
        try:
            list(connector.extract("ad_performance", account, DAY, DAY))
        except ConnectorError as exc:
            messages.append(str(exc))
    assert len(messages) == 3  # describe() + two failed accounts
    assert 'developer-token": "REDACTED' in caplog.text  # the client logged request headers (DEBUG)
    assert "retrying" in caplog.text
    text = caplog.text + "\n".join(messages)
    for secret in (DEVELOPER_TOKEN, ACCESS_TOKEN):
        assert secret not in text
    assert "***" not in text  # nothing even needed redaction
