"""`mdp run` prints Prefect's console log lines through the progress display's console (above the bars)."""

from __future__ import annotations

import io
import logging

from rich.console import Console


def test_prefect_console_lines_go_through_the_live_console_and_back() -> None:
    from prefect import tags  # noqa: F401 - importing Prefect sets up its console handler
    from prefect.logging.handlers import PrefectConsoleHandler

    from mdp.cli import _logs_above

    handlers = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    assert handlers
    before = [h.console for h in handlers]
    live = Console(file=io.StringIO(), width=200)
    with _logs_above(live):
        logging.getLogger("prefect.test").warning("Volume monitor: 2 anomalies (Slack alerts are off)")
    assert "Volume monitor: 2 anomalies (Slack alerts are off)" in live.file.getvalue()  # type: ignore[attr-defined]
    assert [h.console for h in handlers] == before
