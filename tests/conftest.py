"""Shared test set-up: no telemetry, no network, temporary homes; and a check that no process a test
started (a Prefect server, a worker, a sandbox, a CLI) outlives the suite."""

from __future__ import annotations

import contextlib
import os
import uuid

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
# A loaded 2-core machine took 140 s to start Prefect's temporary server: never depend on the default.
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "600"
# Every process this session starts inherits this mark: the check below finds what outlived its test.
SESSION_MARK = "MDP_TEST_SESSION"
os.environ[SESSION_MARK] = uuid.uuid4().hex

# gRPC reads its root certificates once per process: trust the sandbox's certificate (system roots plus
# the sandbox's own) before any test opens a channel.
from sandbox.tls import trust_sandbox_certificate  # noqa: E402

trust_sandbox_certificate()

# The browser fixtures and the screenshot kept when a test with a page open fails.
pytest_plugins = ("tests.browser",)


def _stop_temporary_prefect_servers() -> None:
    """Prefect stops its temporary server only at interpreter exit: stop it now, before the check."""
    from prefect.server.api.server import SubprocessASGIServer

    for server in list(SubprocessASGIServer._instances.values()):
        server.stop()


def _is_own_helper(process: object) -> bool:
    """multiprocessing's resource tracker: a helper of this process that ends with it."""
    import psutil

    assert isinstance(process, psutil.Process)
    return process.ppid() == os.getpid() and "multiprocessing.resource_tracker" in " ".join(process.cmdline())


def leftover_processes() -> list[tuple[int, str]]:
    """Processes other than this one (and its parents) that carry this session's mark."""
    import psutil

    mark = f"{SESSION_MARK}={os.environ[SESSION_MARK]}".encode()
    mine = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in mine:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if mark not in handle.read().split(b"\0"):
                    continue
            process = psutil.Process(int(entry))
            if process.status() == psutil.STATUS_ZOMBIE or _is_own_helper(process):
                continue
            found.append((process.pid, " ".join(process.cmdline())[:200]))
        except (OSError, psutil.Error):
            continue
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import psutil

    _stop_temporary_prefect_servers()
    leftovers = leftover_processes()
    if not leftovers:
        return
    for pid, _ in leftovers:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = "\n".join(f"  PID {pid}: {cmd}" for pid, cmd in leftovers)
    message = f"{len(leftovers)} process(es) started by the tests outlived them (now killed):\n{lines}"
    if reporter is not None:
        reporter.write_line(message, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
