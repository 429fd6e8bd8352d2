"""The lifecycle the plain-HTTP sandboxes (Meta Graph, Microsoft Advertising) share: a threaded server on the
configured host and port, in a background thread of this process, started and stopped once."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

from sandbox.config import SandboxConfig
from sandbox.faults import CallCounter, FaultPlan
from sandbox.truth import Truth

logger = logging.getLogger(__name__)


class HttpSandbox:
    """A sandbox server; subclasses name it and give its request handler, its state and its port setting."""

    label: ClassVar[str]  # e.g. "Meta Graph", for log lines and errors
    handler: ClassVar[type[BaseHTTPRequestHandler]]  # reads its shared state from the class attribute `state`

    def __init__(self, config: SandboxConfig | None = None, *, truth: Truth | None = None) -> None:
        self.config = config or SandboxConfig()
        self.truth = truth or self.config.build_truth()
        self.calls = CallCounter()
        self._state = self.make_state()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def make_state(self) -> Any:
        """What every request handler shares (the truth, the configuration, the call counter)."""
        raise NotImplementedError

    def configured_port(self) -> int:
        """The port to listen on (0: any free one)."""
        raise NotImplementedError

    @property
    def faults(self) -> FaultPlan:
        return self.truth.faults

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"the {self.label} sandbox is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def start(self) -> Self:
        with self._lock:
            if self._server is not None:
                return self
            bound = type("_BoundHandler", (self.handler,), {"state": self._state})
            server = ThreadingHTTPServer((self.config.host, self.configured_port()), bound)
            server.daemon_threads = True
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"sandbox-{self.label.split()[0].lower()}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
            logger.info("%s sandbox listening on %s", self.label, self.base_url)
            return self

    def stop(self) -> None:
        with self._lock:
            if self._server is None:
                return
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(5)
            self._server, self._thread = None, None
            logger.info("%s sandbox stopped", self.label)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
