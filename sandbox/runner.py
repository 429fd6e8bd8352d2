"""Start and stop the sandbox servers (Google Ads, Meta, Microsoft Advertising, TikTok, LinkedIn): in this process
(threads) or as a `python -m sandbox` subprocess."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Literal

import yaml

from sandbox.config import SandboxConfig
from sandbox.data import GOOGLE, LINKEDIN, META, MICROSOFT, TIKTOK, SyntheticData
from sandbox.faults import CallCounter
from sandbox.google_ads import GoogleAdsSandbox
from sandbox.linkedin_ads import TOKEN_PATH as LINKEDIN_TOKEN_PATH
from sandbox.linkedin_ads import LinkedInAdsSandbox
from sandbox.meta import MetaSandbox
from sandbox.microsoft_ads import TOKEN_PATH, MicrosoftAdsSandbox, customer_id_of
from sandbox.tiktok_ads import APP_ID as TIKTOK_APP_ID
from sandbox.tiktok_ads import TikTokAdsSandbox
from sandbox.tls import GRPC_ROOTS_ENV, process_certificate, trust_sandbox_certificate
from sandbox.truth import DEFAULT_META_CONVERSION_ACTION_TYPES, Truth

logger = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 30.0
# Values the sandbox accepts for the secrets the fragment references (any non-empty value works).
SANDBOX_SECRETS = {
    "GOOGLE_ADS_DEVELOPER_TOKEN": "sandbox-developer-token",
    "GOOGLE_ADS_ACCESS_TOKEN": "sandbox-access-token",
    "META_ACCESS_TOKEN": "sandbox-meta-token",
    "MSADS_REFRESH_TOKEN": "sandbox-msads-refresh-token",
    "MSADS_CLIENT_ID": "sandbox-msads-client-id",
    "MSADS_DEVELOPER_TOKEN": "sandbox-msads-developer-token",
    "TIKTOK_ACCESS_TOKEN": "sandbox-tiktok-access-token",
    "TIKTOK_APP_SECRET": "sandbox-tiktok-app-secret",  # pragma: allowlist secret
    "LINKEDIN_CLIENT_ID": "sandbox-linkedin-client-id",
    "LINKEDIN_CLIENT_SECRET": "sandbox-linkedin-client-secret",  # pragma: allowlist secret
    "LINKEDIN_REFRESH_TOKEN": "sandbox-linkedin-refresh-token",
}


@dataclass
class SandboxHandle:
    """The running servers. `truth`, `google`, `meta`, `microsoft` and `tiktok` exist only in thread mode."""

    """The running servers. `truth`, `google`, `meta`, `microsoft` and `linkedin` exist only in thread mode;
    `linkedin_url` is the LinkedIn sandbox's base URL (its REST API under /rest)."""

    google_endpoint: str
    meta_url: str
    microsoft_url: str
    ca_bundle: Path
    data: SyntheticData
    truth: Truth | None = None
    google: GoogleAdsSandbox | None = None
    meta: MetaSandbox | None = None
    microsoft: MicrosoftAdsSandbox | None = None
    tiktok_url: str | None = None
    tiktok: TikTokAdsSandbox | None = None
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    linkedin_url: str | None = None
    linkedin: LinkedInAdsSandbox | None = None

    @property
    def google_calls(self) -> CallCounter | None:
        return self.google.calls if self.google else None

    @property
    def meta_calls(self) -> CallCounter | None:
        return self.meta.calls if self.meta else None

    @property
    def microsoft_calls(self) -> CallCounter | None:
        return self.microsoft.calls if self.microsoft else None

    @property
    def tiktok_calls(self) -> CallCounter | None:
        return self.tiktok.calls if self.tiktok else None

    @property
    def linkedin_calls(self) -> CallCounter | None:
        return self.linkedin.calls if self.linkedin else None

    def pipeline_fragment(self) -> dict[str, Any]:
        return pipeline_fragment(
            self.google_endpoint, self.meta_url, self.data, self.microsoft_url, self.tiktok_url, self.linkedin_url
        )

    def endpoints(self) -> dict[str, dict[str, str]]:
        """Per connector type, the settings that aim it at these servers (`mdp demo` rewrites them)."""
        return connector_endpoints(
            self.google_endpoint, self.meta_url, self.microsoft_url, self.tiktok_url, self.linkedin_url
        )

    def stop(self) -> None:
        for server in (self.google, self.meta, self.microsoft, self.tiktok, self.linkedin):
            if server is not None:
                server.stop()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                logger.warning("sandbox subprocess %s ignored SIGTERM; killing it", self.process.pid)
                self.process.kill()
                self.process.wait(5)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(
    config: SandboxConfig | None = None, *, mode: Literal["thread", "process"] = "thread"
) -> SandboxHandle:
    """Start the Google Ads, Meta, Microsoft Advertising and TikTok sandboxes, sharing one data set and one fault
    plan.

    In "process" mode the servers run in a `python -m sandbox` child that reuses this process's
    certificate, so the CA bundle trusted here covers it too."""
    config = config or SandboxConfig()
    if mode == "thread":
        truth = config.build_truth()
        google = GoogleAdsSandbox(config, truth=truth).start()
        started: list[GoogleAdsSandbox | MetaSandbox | MicrosoftAdsSandbox | TikTokAdsSandbox | LinkedInAdsSandbox] = [
            google
        ]
        try:
            meta = MetaSandbox(config, truth=truth).start()
            started.append(meta)
            microsoft = MicrosoftAdsSandbox(config, truth=truth).start()
            started.append(microsoft)
            tiktok = TikTokAdsSandbox(config, truth=truth).start()
            started.append(tiktok)
            linkedin = LinkedInAdsSandbox(config, truth=truth).start()
        except BaseException:
            for server in started:
                server.stop()
            raise
        assert google.ca_bundle is not None
        return SandboxHandle(
            google.endpoint,
            meta.base_url,
            microsoft.base_url,
            google.ca_bundle,
            truth.data,
            truth,
            google,
            meta,
            microsoft,
            tiktok.base_url,
            tiktok,
            linkedin_url=linkedin.base_url,
            linkedin=linkedin,
        )
    cert = process_certificate(config.cert_dir)
    bundle = trust_sandbox_certificate(cert) if config.trust_certificate else cert.bundle_path
    child_config = replace(config, cert_dir=cert.directory)
    command = [sys.executable, "-m", "sandbox", "--config-json", json.dumps(child_config.to_mapping())]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    ready = _read_ready_line(process)
    return SandboxHandle(
        ready["google_ads_endpoint"],
        ready["meta_graph_url"],
        ready["microsoft_ads_url"],
        Path(ready.get("ca_bundle") or bundle),
        SyntheticData(
            config.seed,
            config.google_accounts,
            config.meta_accounts,
            config.microsoft_accounts,
            config.tiktok_accounts,
            config.linkedin_accounts,
            dynamics=config.dynamics,
        ),
        tiktok_url=ready.get("tiktok_ads_url"),
        process=process,
        linkedin_url=ready.get("linkedin_ads_url"),
    )


def _read_ready_line(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    result: dict[str, Any] = {}

    def read() -> None:
        assert process.stdout is not None
        line = process.stdout.readline()
        if line:
            result.update(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT_SECONDS)
    if not result:
        process.kill()
        process.wait(5)
        raise RuntimeError(f"the sandbox subprocess did not report ready (exit code {process.returncode})")
    return result


def ready_message(handle: SandboxHandle) -> dict[str, Any]:
    """The one JSON line `python -m sandbox` prints when it is ready."""
    return {
        "google_ads_endpoint": handle.google_endpoint,
        "meta_graph_url": handle.meta_url,
        "microsoft_ads_url": handle.microsoft_url,
        "tiktok_ads_url": handle.tiktok_url,
        "linkedin_ads_url": handle.linkedin_url,
        "ca_bundle": str(handle.ca_bundle),
        "google_ads_manager_id": handle.data.google_manager.account_id,
        "pid": os.getpid(),
    }


def connector_endpoints(
    google_endpoint: str,
    meta_url: str,
    microsoft_url: str,
    tiktok_url: str | None = None,
    linkedin_url: str | None = None,
) -> dict[str, dict[str, str]]:
    """Per connector type, the settings that aim it at running sandboxes."""
    endpoints = {
        "google_ads": {"endpoint": google_endpoint},
        "meta_ads": {"graph_url": meta_url},
        "microsoft_ads": {"endpoint": microsoft_url, "token_url": microsoft_url + TOKEN_PATH},
    }
    if tiktok_url is not None:
        endpoints["tiktok_ads"] = {"endpoint": tiktok_url}
    if linkedin_url is not None:
        endpoints["linkedin_ads"] = {
            "endpoint": linkedin_url + "/rest",
            "token_url": linkedin_url + LINKEDIN_TOKEN_PATH,
        }
    return endpoints


def pipeline_fragment(
    google_endpoint: str,
    meta_url: str,
    data: SyntheticData,
    microsoft_url: str | None = None,
    tiktok_url: str | None = None,
    linkedin_url: str | None = None,
) -> dict[str, Any]:
    """A `connectors:` section of pipeline.yaml aimed at running sandboxes (secrets by reference); the
    microsoft_ads, tiktok_ads and linkedin_ads sections only when their sandbox URLs are given."""
    fragment = {
        "connectors": [
            {
                "name": "google_ads",
                "type": "google_ads",
                "lookback_days": 14,
                "endpoint": google_endpoint,
                "login_customer_id": data.google_manager.account_id,
                "accounts": [a.account_id for a in data.accounts(GOOGLE)],
                "credentials": {
                    "developer_token": "env:GOOGLE_ADS_DEVELOPER_TOKEN",
                    "access_token": "env:GOOGLE_ADS_ACCESS_TOKEN",
                },
            },
            {
                "name": "meta_ads",
                "type": "meta_ads",
                "lookback_days": 28,
                "graph_url": meta_url,
                "accounts": [a.graph_id for a in data.accounts(META)],
                "conversion_action_types": list(DEFAULT_META_CONVERSION_ACTION_TYPES),
                "credentials": {"access_token": "env:META_ACCESS_TOKEN"},
            },
        ]
    }
    if microsoft_url is not None:
        fragment["connectors"].append(
            {
                "name": "microsoft_ads",
                "type": "microsoft_ads",
                "lookback_days": 30,
                **connector_endpoints(google_endpoint, meta_url, microsoft_url)["microsoft_ads"],
                "customer_id": customer_id_of(data),
                "accounts": [a.account_id for a in data.accounts(MICROSOFT)],
                "poll_initial_seconds": 0.1,
                "credentials": {
                    "refresh_token": "env:MSADS_REFRESH_TOKEN",
                    "client_id": "env:MSADS_CLIENT_ID",
                    "developer_token": "env:MSADS_DEVELOPER_TOKEN",
                },
            }
        )
    if tiktok_url is not None:
        fragment["connectors"].append(
            {
                "name": "tiktok_ads",
                "type": "tiktok_ads",
                "lookback_days": 7,
                "endpoint": tiktok_url,
                "app_id": TIKTOK_APP_ID,
                "accounts": [a.account_id for a in data.accounts(TIKTOK)],
                "credentials": {
                    "access_token": "env:TIKTOK_ACCESS_TOKEN",
                    "secret": "env:TIKTOK_APP_SECRET",  # pragma: allowlist secret
                },
            }
        )
    if microsoft_url is not None and linkedin_url is not None:
        fragment["connectors"].append(
            {
                "name": "linkedin_ads",
                "type": "linkedin_ads",
                "lookback_days": 30,
                **connector_endpoints(google_endpoint, meta_url, microsoft_url, linkedin_url=linkedin_url)[
                    "linkedin_ads"
                ],
                "accounts": [a.account_id for a in data.accounts(LINKEDIN)],
                "credentials": {
                    "client_id": "env:LINKEDIN_CLIENT_ID",
                    "client_secret": "env:LINKEDIN_CLIENT_SECRET",  # pragma: allowlist secret
                    "refresh_token": "env:LINKEDIN_REFRESH_TOKEN",
                },
            }
        )
    return fragment


def environment_exports(handle: SandboxHandle) -> list[str]:
    """Shell lines a client process needs: the CA bundle for gRPC and sandbox secret values."""
    lines = [f"export {GRPC_ROOTS_ENV}={handle.ca_bundle}"]
    lines += [f"export {name}={value}" for name, value in SANDBOX_SECRETS.items()]
    return lines


def run_forever(
    config: SandboxConfig | None = None,
    *,
    google_port: int | None = None,
    meta_port: int | None = None,
    microsoft_port: int | None = None,
    tiktok_port: int | None = None,
    out: IO[str] | None = None,
    linkedin_port: int | None = None,
    stop_event: threading.Event | None = None,
    env_file: Path | None = None,
) -> None:
    """Start the servers, print endpoints, a pipeline.yaml fragment and exports; block until Ctrl-C/SIGTERM.

    Defaults come from `SandboxConfig.from_env()` (MDP_SANDBOX_* variables, MDP_SANDBOX_FAULTS).
    Setting `stop_event` also stops it (for callers outside the main thread); `env_file` receives the
    exports too."""
    stream = out or sys.stdout
    config = config or SandboxConfig.from_env()
    if google_port is not None:
        config = replace(config, google_port=google_port)
    if meta_port is not None:
        config = replace(config, meta_port=meta_port)
    if microsoft_port is not None:
        config = replace(config, microsoft_port=microsoft_port)
    if tiktok_port is not None:
        config = replace(config, tiktok_port=tiktok_port)
    if linkedin_port is not None:
        config = replace(config, linkedin_port=linkedin_port)
    stop = stop_event or threading.Event()
    with start_sandbox(config) as handle:
        print(f"Google Ads sandbox (gRPC + TLS): {handle.google_endpoint}", file=stream)
        print(f"  manager (login-customer-id): {handle.data.google_manager.account_id}", file=stream)
        print(f"Meta Graph sandbox (HTTP):      {handle.meta_url}", file=stream)
        print(f"Microsoft Advertising sandbox (SOAP over HTTP): {handle.microsoft_url}", file=stream)
        print(f"  customer id: {customer_id_of(handle.data)}", file=stream)
        print(f"TikTok Business API sandbox (HTTP): {handle.tiktok_url}", file=stream)
        print(f"LinkedIn Marketing sandbox (REST over HTTP): {handle.linkedin_url}/rest", file=stream)
        print("\n# pipeline.yaml fragment", file=stream)
        print(yaml.safe_dump(handle.pipeline_fragment(), sort_keys=False), file=stream)
        print("# environment for clients (set before the first gRPC channel)", file=stream)
        for line in environment_exports(handle):
            print(line, file=stream)
        if env_file is not None:
            env_file.parent.mkdir(parents=True, exist_ok=True)
            env_file.write_text("\n".join(environment_exports(handle)) + "\n", encoding="utf-8")
            print(f"# also written to {env_file} (`source` it, or `mdp deploy --local --env-file` it)", file=stream)
        print("\nPress Ctrl-C to stop.", file=stream, flush=True)
        _wait_for_signal(stop)
    print("sandbox stopped", file=stream)


def _wait_for_signal(stop: threading.Event) -> None:
    """Block until SIGINT or SIGTERM (handlers installed only in the main thread)."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
