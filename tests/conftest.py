"""Shared test set-up: no telemetry, no network, temporary homes."""

from __future__ import annotations

import os

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

# gRPC reads its root certificates once per process: trust the sandbox's certificate (system roots plus
# the sandbox's own) before any test opens a channel.
from sandbox.tls import trust_sandbox_certificate

trust_sandbox_certificate()
