"""Starting and stopping the sandboxes: threads, the `python -m sandbox` subprocess, `run_forever`."""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.error
import urllib.request
from datetime import date

import pytest
import yaml
from google.ads.googleads.client import GoogleAdsClient
from google.oauth2.credentials import Credentials

from sandbox import Fault, SandboxConfig, pipeline_fragment, run_forever, start_sandbox
from sandbox.meta import facebook_api

AS_OF = date(2025, 3, 20)


def test_thread_mode_shares_data_and_faults() -> None:
    with start_sandbox(SandboxConfig(seed=3, as_of=AS_OF)) as handle:
        assert handle.google is not None
        assert handle.meta is not None
        assert handle.truth is not None
        assert handle.microsoft is not None
        assert handle.tiktok is not None
        assert handle.google.truth is handle.meta.truth is handle.microsoft.truth is handle.tiktok.truth
        handle.truth.faults.add(Fault("internal", channel="meta_ads", times=1))
        assert handle.google_endpoint.startswith("127.0.0.1:")
        assert handle.meta_url.startswith("http://127.0.0.1:")
        assert handle.microsoft_url.startswith("http://127.0.0.1:")
        assert handle.tiktok_url is not None
        assert handle.tiktok_url.startswith("http://127.0.0.1:")
        assert handle.linkedin is not None
        assert handle.linkedin.truth is handle.truth
        fragment = handle.pipeline_fragment()
    google, meta, microsoft, tiktok, linkedin = fragment["connectors"]
    assert tiktok["endpoint"] == handle.tiktok_url
    assert tiktok["accounts"] == [a.account_id for a in handle.data.accounts("tiktok_ads")]
    assert tiktok["credentials"]["access_token"] == "env:TIKTOK_ACCESS_TOKEN"
    assert linkedin["endpoint"] == f"{handle.linkedin_url}/rest"
    assert linkedin["token_url"].startswith(f"{handle.linkedin_url}/")
    assert linkedin["accounts"] == [a.account_id for a in handle.data.accounts("linkedin_ads")]
    assert linkedin["credentials"]["refresh_token"] == "env:LINKEDIN_REFRESH_TOKEN"
    assert microsoft["endpoint"] == handle.microsoft_url
    assert microsoft["token_url"].startswith(handle.microsoft_url + "/")
    assert microsoft["accounts"] == [a.account_id for a in handle.data.accounts("microsoft_ads")]
    assert microsoft["credentials"]["refresh_token"] == "env:MSADS_REFRESH_TOKEN"
    assert google["endpoint"] == handle.google_endpoint
    assert google["login_customer_id"] == handle.data.google_manager.account_id
    assert meta["graph_url"] == handle.meta_url
    assert all(a.startswith("act_") for a in meta["accounts"])
    assert google["credentials"]["developer_token"] == "env:GOOGLE_ADS_DEVELOPER_TOKEN"
    with pytest.raises(RuntimeError):
        _ = handle.google.endpoint  # stopped


def test_subprocess_serves_every_channel() -> None:
    config = SandboxConfig(
        seed=3, as_of=AS_OF, faults=[Fault("throttle", method="insights", times=1, params={"code": 4})]
    )
    with start_sandbox(config, mode="process") as handle:
        assert handle.process is not None
        assert handle.process.poll() is None
        manager = handle.data.google_manager.account_id
        client = GoogleAdsClient(
            credentials=Credentials(token="t"),
            developer_token="d",
            login_customer_id=manager,
            endpoint=handle.google_endpoint,
            use_proto_plus=True,
            version="v26",
        )
        service = client.get_service("GoogleAdsService")
        rows = list(
            service.search(customer_id=manager, query="SELECT customer_client.id FROM customer_client", timeout=10)
        )
        assert len(rows) == 5
        api = facebook_api(handle.meta_url)
        account = handle.data.accounts("meta_ads")[0].graph_id
        first = api.call("GET", (account,), params={"fields": "name"})
        assert first.json()["name"] == handle.data.accounts("meta_ads")[0].name
        api._session.requests.close()
        token = urllib.request.urlopen(  # the Microsoft sandbox answers in the child process too
            f"{handle.microsoft_url}/common/oauth2/v2.0/token",
            data=b"grant_type=refresh_token&refresh_token=r&client_id=c",
            timeout=5,
        )
        assert json.loads(token.read())["token_type"] == "Bearer"
        token.close()
        advertisers = urllib.request.Request(  # and the TikTok one
            f"{handle.tiktok_url}/open_api/v1.3/oauth2/advertiser/get/?app_id=1&secret=s",
            headers={"Access-Token": "t"},
        )
        with urllib.request.urlopen(advertisers, timeout=5) as answer:
            listed = json.loads(answer.read())["data"]["list"]
        assert [a["advertiser_id"] for a in listed] == [a.account_id for a in handle.data.accounts("tiktok_ads")]
        url = f"{handle.meta_url}/v26.0/{account}/insights?access_token=t&fields=spend"
        with pytest.raises(urllib.error.HTTPError) as info:  # the configured fault crossed the process boundary
            urllib.request.urlopen(url, timeout=5)
        assert json.loads(info.value.read())["error"]["code"] == 4
        info.value.close()
        process = handle.process
    assert process.poll() == 0  # stopped cleanly on SIGTERM


def test_run_forever_prints_a_fragment_and_stops() -> None:
    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(SandboxConfig(as_of=AS_OF),), kwargs={"out": out, "stop_event": stop}
    )
    thread.start()
    deadline = time.monotonic() + 10
    while "Ctrl-C" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(10)
    text = out.getvalue()
    assert "export GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=" in text
    fragment = yaml.safe_load(text.split("# pipeline.yaml fragment", 1)[1].split("# environment", 1)[0])
    assert [c["type"] for c in fragment["connectors"]] == [
        "google_ads",
        "meta_ads",
        "microsoft_ads",
        "tiktok_ads",
        "linkedin_ads",
    ]
    assert text.rstrip().endswith("sandbox stopped")


def test_fragment_shape() -> None:
    from sandbox.data import SyntheticData

    fragment = pipeline_fragment("127.0.0.1:50051", "http://127.0.0.1:8700", SyntheticData(google_accounts=2))
    assert fragment["connectors"][0]["endpoint"] == "127.0.0.1:50051"
    assert len(fragment["connectors"][0]["accounts"]) == 2
    assert fragment["connectors"][1]["conversion_action_types"] == ["purchase"]
