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


def test_without_tracebacks_the_console_prints_the_message_and_the_other_handlers_keep_the_traceback() -> None:
    from prefect import tags  # noqa: F401 - importing Prefect sets up its console handler

    from mdp.cli import _logs_above

    kept: list[str] = []

    class Keeper(logging.Handler):  # stands in for Prefect's API log handler, after the console handler
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(logging.Formatter().format(record))

    root, keeper = logging.getLogger(), Keeper()
    root.addHandler(keeper)
    logger = logging.getLogger("prefect.test.tracebacks")
    quiet, verbose = Console(file=io.StringIO(), width=200), Console(file=io.StringIO(), width=200)
    try:
        for live, tracebacks in ((quiet, False), (verbose, True)):
            with _logs_above(live, tracebacks=tracebacks):
                try:
                    raise ValueError("the cause")
                except ValueError:
                    logger.error("Encountered exception during execution", exc_info=True)
    finally:
        root.removeHandler(keeper)
    printed = quiet.file.getvalue()  # type: ignore[attr-defined]
    assert "Encountered exception during execution" in printed
    assert "Traceback" not in printed
    assert "Traceback (most recent call last)" in verbose.file.getvalue()  # type: ignore[attr-defined]
    assert len(kept) == 2
    assert all("Traceback (most recent call last)" in text and "ValueError: the cause" in text for text in kept)
