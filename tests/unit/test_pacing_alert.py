"""The Slack pacing alert built by the real block builder: one message, the worst grain first, every line
with its projection, interval, target, ratio and verdict, at most 20 lines then a count, within Slack's text
limits, escaped and without secrets; sent only when something is off pace, and a configured block that
refuses it fails the step."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest

from flows import pacing_alert
from flows.notify import AlertDeliveryError
from flows.pacing_alert import MAX_LINES, pacing_alert_blocks, send_pacing_alert
from mdp.config import config_from_mapping
from mdp.secrets import register_secret
from tests.pacing_marts import pacing_row

AS_OF = dt.date(2025, 3, 18)
LINK = "http://127.0.0.1:4200/runs/flow-run/0b1c"


def rows() -> list[dict[str, Any]]:
    return [
        pacing_row(AS_OF, "google_ads", projected="1050"),  # on track: not listed
        pacing_row(AS_OF, "meta_ads", target="1000", projected="1300", verdict="over", off_pace=True),
        pacing_row(
            AS_OF,
            "google_ads",
            "123",
            "456",
            campaign_name="Spring <Sale> & more",
            target="300",
            projected="150",
            spread="20",
            verdict="under",
            off_pace=True,
            basis="daily_budget",
        ),
        pacing_row(
            AS_OF,
            "meta_ads",
            "act_9",
            metric="conversions",
            target="200",
            projected="170.25",
            spread="5",
            verdict="under",
            off_pace=True,
        ),
    ]


def sections(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_one_message_lists_the_off_pace_grains_worst_first() -> None:
    blocks = pacing_alert_blocks(rows(), AS_OF, LINK)

    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Pacing March 2025: 3 off pace (as of 2025-03-18)"},
    }
    assert sections(blocks) == [
        # |0.5 - 1| = 0.5 > |1.3 - 1| = 0.3 > |0.85125 - 1|
        'campaign google_ads 123/456 "Spring &lt;Sale&gt; &amp; more" · spend: projected 150.00 EUR '
        "(80%: 130.00–170.00) vs budget 300.00 EUR · *50%* · *under pace*",
        "channel meta_ads · spend: projected 1,300.00 EUR (80%: 1,200.00–1,400.00) vs target 1,000.00 EUR · "
        "*130%* · *over pace*",
        "account meta_ads act_9 · conversions: projected 170.3 (80%: 165.3–175.3) vs target 200.0 · *85%* · "
        "*under pace*",
    ]
    assert blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"<{LINK}|Open the run in Prefect>"}],
    }
    json.dumps(blocks)  # what the webhook posts


def test_nothing_off_pace_builds_no_message() -> None:
    assert pacing_alert_blocks([r for r in rows() if not r["off_pace"]], AS_OF, LINK) == []
    assert pacing_alert_blocks([], AS_OF, None) == []


def test_at_most_twenty_lines_then_the_count_of_the_rest() -> None:
    many = [
        pacing_row(AS_OF, "google_ads", "1", str(i), projected=str(1100 + i), verdict="over", off_pace=True)
        for i in range(MAX_LINES + 7)
    ]

    blocks = pacing_alert_blocks(many, AS_OF, None)

    listed = sections(blocks)
    assert len(listed) == MAX_LINES
    assert listed[0].startswith(f"campaign google_ads 1/{MAX_LINES + 6} ")  # the largest ratio first
    assert blocks[-1]["elements"][0]["text"] == "and 7 more off pace (`mdp pacing` lists them all)"
    assert "Open the run" not in json.dumps(blocks)  # no link without a run page
    assert len(blocks) <= 50  # Slack's limit per message


def test_long_names_stay_within_slacks_limits() -> None:
    name = "Performance Max | " * 400
    row = pacing_row(AS_OF, "google_ads", "1", "2", campaign_name=name, verdict="over", off_pace=True)

    blocks = pacing_alert_blocks([row], AS_OF, LINK)

    assert len(blocks[0]["text"]["text"]) <= 150
    (line,) = sections(blocks)
    assert len(line) <= 3000
    assert '"Performance Max | Performance Max' in line
    assert '…"' in line


def test_no_secret_reaches_the_message() -> None:
    secret = "sk-live-pacing-0123456789"  # pragma: allowlist secret
    register_secret(secret)
    row = pacing_row(AS_OF, "google_ads", "1", "2", campaign_name=f"token {secret}", verdict="over", off_pace=True)

    blocks = pacing_alert_blocks([row], AS_OF, f"http://ui.example/{secret}")

    assert secret not in json.dumps(blocks)
    assert "***" in sections(blocks)[0]


def config(block: str | None) -> Any:
    return config_from_mapping(
        {"warehouse": {"type": "duckdb", "path": "wh.duckdb"}, "alerts": {"slack_webhook_block": block}}
    )


def test_sent_through_the_configured_block_only_when_off_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, list[dict[str, Any]]]] = []
    monkeypatch.setattr(pacing_alert, "send_blocks", lambda cfg, text, blocks: sent.append((text, blocks)) or True)

    assert send_pacing_alert(config("slack"), [r for r in rows() if not r["off_pace"]], "run-30") is False
    assert sent == []
    assert send_pacing_alert(config("slack"), rows(), "run-30") is True
    ((text, blocks),) = sent
    assert blocks == pacing_alert_blocks(rows(), AS_OF, None)  # outside a flow run: no run page
    assert text.startswith("Pacing March 2025: 3 off pace (as of 2025-03-18) (run run-30)\ncampaign google_ads")


def test_without_a_block_the_alert_is_logged(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(pacing_alert, "send_blocks", lambda *a: pytest.fail("nothing is posted without a block"))

    with caplog.at_level(logging.WARNING, logger="flows.pacing_alert"):
        assert send_pacing_alert(config(None), rows(), "run-30") is False

    assert "3 off pace" in caplog.text
    assert "Slack alerts are off" in caplog.text


def test_a_block_that_refuses_the_message_fails_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pacing_alert, "send_blocks", lambda *a: False)

    with pytest.raises(AlertDeliveryError, match="pacing alert did not reach Slack block 'slack'"):
        send_pacing_alert(config("slack"), rows(), "run-30")
