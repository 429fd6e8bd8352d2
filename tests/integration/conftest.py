"""Sandbox servers (Google Ads, Meta, Microsoft Advertising, TikTok, LinkedIn) for every integration test: started once per session on free ports (only when a test
asks for them), faults and call counters reset around every test. The official clients are built exactly
as a connector would. Also shared: a temporary Prefect API (`prefect_server`) and a local Slack webhook
receiver (`slack_receiver`)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.api import FacebookAdsApi
from google.ads.googleads.client import GoogleAdsClient

from sandbox import (
    GoogleAdsSandbox,
    LinkedInAdsSandbox,
    MetaSandbox,
    MicrosoftAdsSandbox,
    SandboxConfig,
    TikTokAdsSandbox,
    google_ads_client_kwargs,
)
from sandbox.meta import facebook_api

AS_OF = date(2025, 3, 20)


@pytest.fixture(scope="session")
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(seed=11, as_of=AS_OF, meta_async_polls=3)


@pytest.fixture(scope="session")
def _google_server(sandbox_config: SandboxConfig) -> Iterator[GoogleAdsSandbox]:
    with GoogleAdsSandbox(sandbox_config) as server:
        yield server


@pytest.fixture(scope="session")
def _meta_server(sandbox_config: SandboxConfig) -> Iterator[MetaSandbox]:
    with MetaSandbox(sandbox_config) as server:
        yield server


@pytest.fixture(scope="session")
def _microsoft_server(sandbox_config: SandboxConfig) -> Iterator[MicrosoftAdsSandbox]:
    with MicrosoftAdsSandbox(sandbox_config) as server:
        yield server


@pytest.fixture(scope="session")
def _linkedin_server(sandbox_config: SandboxConfig) -> Iterator[LinkedInAdsSandbox]:
    with LinkedInAdsSandbox(sandbox_config) as server:
        yield server


@pytest.fixture(scope="session")
def _tiktok_server(sandbox_config: SandboxConfig) -> Iterator[TikTokAdsSandbox]:
    with TikTokAdsSandbox(sandbox_config) as server:
        yield server


@pytest.fixture
def google_sandbox(_google_server: GoogleAdsSandbox) -> Iterator[GoogleAdsSandbox]:
    """The session's Google Ads sandbox, clean: no faults, zero calls, clock at AS_OF."""
    _reset(_google_server)
    yield _google_server
    _reset(_google_server)


@pytest.fixture
def meta_sandbox(_meta_server: MetaSandbox) -> Iterator[MetaSandbox]:
    """The session's Meta sandbox, clean."""
    _reset(_meta_server)
    yield _meta_server
    _reset(_meta_server)


@pytest.fixture
def microsoft_sandbox(_microsoft_server: MicrosoftAdsSandbox) -> Iterator[MicrosoftAdsSandbox]:
    """The session's Microsoft Advertising sandbox, clean."""
    _reset(_microsoft_server)
    yield _microsoft_server
    _reset(_microsoft_server)


@pytest.fixture
def tiktok_sandbox(_tiktok_server: TikTokAdsSandbox) -> Iterator[TikTokAdsSandbox]:
    """The session's TikTok Business API sandbox, clean."""
    _reset(_tiktok_server)
    yield _tiktok_server
    _reset(_tiktok_server)


@pytest.fixture
def linkedin_sandbox(_linkedin_server: LinkedInAdsSandbox) -> Iterator[LinkedInAdsSandbox]:
    """The session's LinkedIn Marketing sandbox, clean."""
    _reset(_linkedin_server)
    yield _linkedin_server
    _reset(_linkedin_server)


def _reset(
    server: GoogleAdsSandbox | MetaSandbox | MicrosoftAdsSandbox | TikTokAdsSandbox | LinkedInAdsSandbox,
) -> None:
    server.faults.clear()
    server.calls.reset()
    server.truth.as_of = AS_OF


@pytest.fixture
def google_client(google_sandbox: GoogleAdsSandbox) -> GoogleAdsClient:
    return GoogleAdsClient(**google_ads_client_kwargs(google_sandbox))


@pytest.fixture
def google_service(google_client: GoogleAdsClient) -> Any:
    # Keep the service in a variable while iterating search_stream (see API_NOTES).
    return google_client.get_service("GoogleAdsService")


@pytest.fixture
def meta_api(meta_sandbox: MetaSandbox) -> Iterator[FacebookAdsApi]:
    api = facebook_api(meta_sandbox.base_url, timeout=(2, 5))
    yield api
    api._session.requests.close()


@pytest.fixture
def meta_account(meta_sandbox: MetaSandbox, meta_api: FacebookAdsApi) -> AdAccount:
    return AdAccount(meta_sandbox.account_ids[0], api=meta_api)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A temporary Prefect API for the whole session, with its own home."""
    home = tmp_path_factory.mktemp("prefect-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("PREFECT_HOME", str(home))
    mp.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    mp.setenv("PREFECT_LOGGING_TO_API_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=600):
        yield
    mp.undo()


class LoopbackServer:
    """A threaded HTTP server on a free 127.0.0.1 port, serving until close()."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class SlackReceiver:
    """A local HTTP endpoint that records what a Slack incoming webhook would receive."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.messages.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                return

        self.server = LoopbackServer(Handler)
        self.url = self.server.url("/services/T000/B000/test")

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def slack_receiver() -> Iterator[SlackReceiver]:
    receiver = SlackReceiver()
    yield receiver
    receiver.close()


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """`folder` made unwritable for this process: mode 0o555, or, for root (whom modes do not stop), the
    immutable attribute (chattr +i); skips the test when neither holds."""
    folder.chmod(0o555)
    immutable = False
    try:
        if os.geteuid() == 0:
            chattr = shutil.which("chattr")
            if chattr is None or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode:
                pytest.skip("root writes through mode 0o555, and chattr +i is not available here")
            immutable = True
        yield
    finally:
        if immutable:
            subprocess.run([str(shutil.which("chattr")), "-i", str(folder)], check=True)
        folder.chmod(0o755)
