"""In-process progress events from the ingest flows, for live displays such as `mdp run`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProgressEvent:
    """`kind` is "planned" (units = how many units the connector will run), "unit" (one finished),
    "dbt_node" (one dbt node finished) or "step" (a pipeline step, named by `connector`, started: units=0,
    or ended: units=1)."""

    kind: str
    connector: str
    units: int = 0
    rows: int = 0
    quarantined: int = 0  # on "unit": rows set aside in quarantine
    failed: bool = False
    run_id: str = ""  # on "planned": the parent run the units belong to


Listener = Callable[[ProgressEvent], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


def subscribe(listener: Listener) -> Callable[[], None]:
    """Receive every event of this process until the returned function is called."""
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def emit(event: ProgressEvent) -> None:
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(event)
        except Exception:
            logger.exception("progress listener failed")
