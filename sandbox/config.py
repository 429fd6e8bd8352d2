"""Settings of a sandbox run (seed, accounts, clock, ports, faults) from Python, a mapping or the env."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

from sandbox.data import SyntheticData
from sandbox.faults import Fault, FaultPlan, faults_from_env, parse_fault_spec
from sandbox.truth import Truth

logger = logging.getLogger(__name__)

ENV_PREFIX = "MDP_SANDBOX_"
DEFAULT_GOOGLE_PORT = 50051
DEFAULT_META_PORT = 8700
DEFAULT_MICROSOFT_PORT = 8701
DEFAULT_TIKTOK_PORT = 8702
DEFAULT_LINKEDIN_PORT = 8703


@dataclass
class SandboxConfig:
    """Everything a sandbox needs; ports 0 mean "a free port"."""

    seed: int = 42
    google_accounts: int = 3
    meta_accounts: int = 3
    microsoft_accounts: int = 3
    tiktok_accounts: int = 3
    linkedin_accounts: int = 3
    as_of: date | None = None  # None: today, evaluated at each request
    faults: list[Fault] = field(default_factory=list)
    host: str = "127.0.0.1"
    google_port: int = 0
    meta_port: int = 0
    microsoft_port: int = 0
    tiktok_port: int = 0
    linkedin_port: int = 0
    cert_dir: Path | None = None  # None: $MDP_SANDBOX_CERT_DIR, else one temporary directory per process
    trust_certificate: bool = True  # point GRPC_DEFAULT_SSL_ROOTS_FILE_PATH at the sandbox CA bundle
    require_login_customer_id: bool = True  # Google children answer only through the manager
    google_page_size: int = 10_000  # Search page size (fixed by the API)
    google_stream_batch_size: int = 10_000  # rows per SearchStream message
    meta_async_polls: int = 3  # status polls before an async report run completes
    meta_default_limit: int = 25
    meta_max_limit: int = 5_000
    microsoft_report_polls: int = 1  # PollGenerateReport calls answered Pending before a report is ready
    tiktok_max_page_size: int = 1000  # report/integrated/get page_size limit
    dynamics: bool = True  # trend, promotions, budget-driven delivery, a mid-month start, a pause (sandbox.dynamics)

    def __post_init__(self) -> None:
        if isinstance(self.as_of, str):
            self.as_of = date.fromisoformat(self.as_of)
        if isinstance(self.cert_dir, str):
            self.cert_dir = Path(self.cert_dir)
        self.faults = [f if isinstance(f, Fault) else Fault.from_mapping(f) for f in self.faults]
        if self.host not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the sandbox listens on loopback only (127.0.0.1), not {self.host!r}")
        if self.meta_async_polls < 0:
            raise ValueError("meta_async_polls must be >= 0")
        if self.microsoft_report_polls < 0:
            raise ValueError("microsoft_report_polls must be >= 0")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SandboxConfig:
        """From a dict such as a `sandbox:` section of a YAML file; unknown keys raise ValueError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown sandbox settings {unknown}; known: {sorted(known)}")
        values = dict(data)
        if "faults" in values:
            values["faults"] = parse_fault_spec(values["faults"])
        return cls(**values)

    @classmethod
    def from_env(cls, base: SandboxConfig | None = None, environ: Mapping[str, str] | None = None) -> SandboxConfig:
        """`base` (or defaults) overridden by MDP_SANDBOX_SEED, _GOOGLE_ACCOUNTS, _META_ACCOUNTS,
        _MICROSOFT_ACCOUNTS, _TIKTOK_ACCOUNTS, _LINKEDIN_ACCOUNTS, _AS_OF, _GOOGLE_PORT, _META_PORT,
        _MICROSOFT_PORT, _TIKTOK_PORT, _LINKEDIN_PORT, _CERT_DIR; MDP_SANDBOX_FAULTS adds faults."""
        env = os.environ if environ is None else environ
        values = asdict(base) if base is not None else {}
        if base is not None:
            values["faults"] = list(base.faults)
        casts: dict[str, Any] = {
            "seed": int,
            "google_accounts": int,
            "meta_accounts": int,
            "microsoft_accounts": int,
            "tiktok_accounts": int,
            "linkedin_accounts": int,
            "as_of": date.fromisoformat,
            "google_port": int,
            "meta_port": int,
            "microsoft_port": int,
            "tiktok_port": int,
            "linkedin_port": int,
            "cert_dir": Path,
        }
        for name, cast in casts.items():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw:
                try:
                    values[name] = cast(raw)
                except ValueError as exc:
                    raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r}: {exc}") from exc
        values["faults"] = list(values.get("faults", [])) + faults_from_env(env)
        return cls(**values)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready form (used to hand the configuration to a subprocess)."""
        out = asdict(self)
        out["faults"] = [f.to_mapping() for f in self.faults]
        out["as_of"] = self.as_of.isoformat() if self.as_of else None
        out["cert_dir"] = str(self.cert_dir) if self.cert_dir else None
        return out

    def build_truth(self) -> Truth:
        data = SyntheticData(
            self.seed,
            self.google_accounts,
            self.meta_accounts,
            self.microsoft_accounts,
            self.tiktok_accounts,
            self.linkedin_accounts,
            dynamics=self.dynamics,
        )
        return Truth(data, FaultPlan(self.faults), self.as_of)
