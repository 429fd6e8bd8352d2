"""The Slack pacing alert: one Block Kit message listing the grains off pace (marts.pacing_monthly rows),
the worst first, with a link to the run."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flows.notify import AlertDeliveryError, run_url, send_blocks
from flows.pacing_marts import grain_label, worst_first
from mdp.config import PipelineConfig
from mdp.secrets import redact

logger = logging.getLogger(__name__)

MAX_LINES = 20  # off-pace lines in the message; the rest are counted ("and N more")
MAX_SECTION = 3000  # Slack: a section's text
MAX_HEADER = 150  # Slack: a header's plain text
MAX_NAME = 80  # a campaign name is cut to this many characters in a line
VERDICTS = {"over": "over pace", "under": "under pace", "on_track": "on track"}
BASIS = {"target": "target", "daily_budget": "budget"}


def _escape(text: str) -> str:
    """Text for Slack mrkdwn: &, < and > are control characters there."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _amount(value: Any, metric: str) -> str:
    """A value as the alert prints it: money and ROAS with 2 decimals, conversions with 1; "-" when null."""
    if value is None:
        return "-"
    digits = Decimal("0.1") if metric == "conversions" else Decimal("0.01")
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{number.quantize(digits, ROUND_HALF_UP):,}"


def _unit(row: dict[str, Any]) -> str:
    currency = row.get("currency")
    return f" {currency}" if currency and row["metric"] in ("spend", "conversion_value") else ""


def alert_line(row: dict[str, Any]) -> str:
    """One off-pace row in mrkdwn: grain and ids, metric, projected month end with its 80% interval, the
    target or budget, the pacing ratio as a percentage and the verdict."""
    label = grain_label(row | {"campaign_name": _short(row.get("campaign_name"))})
    metric, unit = str(row["metric"]), _unit(row)
    interval = ""
    if row.get("projected_lo80") is not None and row.get("projected_hi80") is not None:
        interval = f" (80%: {_amount(row['projected_lo80'], metric)}–{_amount(row['projected_hi80'], metric)})"
    ratio = row.get("pacing_ratio")
    percent = f"{float(ratio):.0%}" if ratio is not None else "-"
    verdict = VERDICTS.get(str(row["verdict"]), str(row["verdict"]))
    basis = BASIS.get(str(row.get("basis")), str(row.get("basis")))
    return (
        _escape(
            f"{row['grain']} {label} · {metric.replace('_', ' ')}: projected {_amount(row['projected'], metric)}{unit}"
            f"{interval} vs {basis} {_amount(row['target'], metric)}{unit}"
        )
        + f" · *{percent}* · *{_escape(verdict)}*"
    )


def _short(name: Any) -> str | None:
    if not name:
        return None
    text = str(name)
    return text if len(text) <= MAX_NAME else text[: MAX_NAME - 1] + "…"


def pacing_alert_blocks(rows: list[dict[str, Any]], as_of: dt.date, run_link: str | None) -> list[dict[str, Any]]:
    """The Block Kit blocks of the pacing alert: a header, a section per off-pace row (the largest
    |pacing_ratio - 1| first, at most MAX_LINES, then "and N more"), and the link to the run. Empty when no
    row is off pace. Text is redacted and kept within Slack's limits."""
    off = worst_first(rows)
    if not off:
        return []
    months = sorted({r["month"] for r in off if r.get("month") is not None})
    month = f" {months[0]:%B %Y}" if len(months) == 1 else ""
    title = f"Pacing{month}: {len(off)} off pace (as of {as_of.isoformat()})"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": redact(title)[:MAX_HEADER]}}
    ]
    for row in off[:MAX_LINES]:
        text = redact(alert_line(row))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION]}})
    notes = []
    if len(off) > MAX_LINES:
        notes.append(f"and {len(off) - MAX_LINES} more off pace (`mdp pacing` lists them all)")
    if run_link:
        notes.append(f"<{run_link}|Open the run in Prefect>")
    if notes:
        text = redact(" · ".join(notes))[:MAX_SECTION]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    return blocks


def send_pacing_alert(config: PipelineConfig, rows: list[dict[str, Any]], run_id: str) -> bool:
    """Send the pacing alert when a row is off pace; returns whether it was sent. Without a Slack block the
    lines are logged as a warning; a configured block that does not take the message raises
    AlertDeliveryError."""
    from prefect.runtime import flow_run

    if not any(r.get("off_pace") for r in rows):
        return False
    as_of = max(r["as_of"] for r in rows if r.get("off_pace"))
    current = flow_run.get_id()
    blocks = pacing_alert_blocks(rows, as_of, run_url(current) if current else None)
    title = blocks[0]["text"]["text"] + f" (run {run_id})"
    lines = [b["text"]["text"] for b in blocks[1:] if b["type"] == "section"]
    if not config.alerts.slack_webhook_block:
        logger.warning("%s (Slack alerts are off):\n%s", title, "\n".join(lines))
        return False
    if not send_blocks(config, "\n".join([title, *lines]), blocks):
        raise AlertDeliveryError(f"the pacing alert did not reach Slack block {config.alerts.slack_webhook_block!r}")
    return True
