"""Slack alerts through the prefect-slack `SlackWebhook` block named in the configuration."""

from __future__ import annotations

import logging
from typing import Any

from mdp.config import PipelineConfig, load_config
from mdp.errors import MDPError
from mdp.secrets import redact

logger = logging.getLogger(__name__)
_warned: set[str] = set()
MAX_TEXT = 2900  # Slack section blocks take up to 3000 characters


def run_url(flow_run_id: object) -> str | None:
    """The Prefect UI page of a flow run, when a UI address is known."""
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value()
    return f"{str(base).rstrip('/')}/runs/flow-run/{flow_run_id}" if base else None


class AlertDeliveryError(MDPError):
    """The Slack block is configured but an alert could not be delivered."""


def send_slack(config: PipelineConfig, title: str, lines: list[str], link: str | None = None) -> bool:
    """Post a Block Kit message to the configured block. Returns False (with one warning) without one."""
    body = redact("\n".join(lines))[:MAX_TEXT]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": redact(title)[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body or "-"}},
    ]
    if link:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{link}|Open the run in Prefect>"}]}
        )
    return send_blocks(config, f"{title}\n{body}", blocks)


def send_blocks(config: PipelineConfig, text: str, blocks: list[dict[str, Any]]) -> bool:
    """Post prepared Block Kit `blocks` (and their plain `text` fallback, redacted) to the configured block.
    Returns False (with one warning) without a usable block, or when Slack refuses the message."""
    name = config.alerts.slack_webhook_block
    if not name:
        _warn_once("no-block", "alerts.slack_webhook_block is not configured: Slack alerts are off")
        return False
    from prefect_slack import SlackWebhook

    try:
        block = SlackWebhook.load(name, _sync=True)  # the hook may run inside an event loop
    except ValueError as exc:
        _warn_once(
            name,
            f"Slack block {name!r} cannot be loaded ({exc}); create it or fix alerts.slack_webhook_block",
        )
        return False
    client = block.get_client(sync_client=True)
    response = client.send(text=redact(text), blocks=blocks)
    if response.status_code >= 300:
        logger.error("Slack block %s answered HTTP %s: %s", name, response.status_code, response.body)
        return False
    return True


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning(message)


def notify_flow_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect on_failure / on_crashed hook: tell Slack which run failed, what and why (no secrets)."""
    parameters = getattr(flow_run, "parameters", None) or {}
    try:
        config = load_config(parameters.get("config_path"))
    except MDPError as exc:
        logger.error("cannot load the configuration to send the failure alert: %s", exc)
        return
    message = str(getattr(state, "message", "") or "failed")
    title = f"Failed: {flow.name} run {flow_run.name}"
    lines = [f"*State:* {state.name}", message]
    try:
        send_slack(config, title, lines, run_url(flow_run.id))
    except Exception:
        logger.exception("the failure alert could not be sent to Slack")
