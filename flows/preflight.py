"""What a run needs, checked before its first API call: the parameters against the configuration, the FX
coverage of its days, the warehouse, the connectors' credentials. Free of Prefect, so that `mdp run` and
`mdp check` refuse a command before anything (a Prefect home, a warehouse file) is created."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from connectors.registry import build_connectors
from flows.fx_coverage import check_fx_coverage
from flows.windows import ParameterError, RunParameters, check_names, resolve_accounts, resolve_window
from mdp.config import PipelineConfig
from mdp.secrets import resolve_secret
from warehouse import from_config


def plan(config: PipelineConfig, params: RunParameters, today: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """Validate the parameters against the configuration and resolve each connector's window.

    Raises:
        ParameterError: naming the offending parameter.
        FxCoverageError: the marts could not convert some day of the windows (checked when dbt runs).
    """
    enabled = [c.name for c in config.enabled_connectors()]
    configured = [c.name for c in config.connectors]
    check_names("connectors", params.connectors, configured)
    names = params.connectors or enabled
    connectors = build_connectors(config, names)
    accounts_of(connectors, params.accounts)
    if params.retry_failed is not None:
        clash = [k for k in ("start_date", "end_date", "lookback_days", "accounts") if getattr(params, k) is not None]
        if clash:
            raise ParameterError(f"retry_failed reruns the failed units as they were: drop {', '.join(clash)}")
        if params.resume is not None:
            raise ParameterError("resume and retry_failed exclude each other: give one")
        return {}
    windows = {c.name: resolve_window(params, today, c.lookback_days) for c in connectors}
    if params.run_dbt and windows:
        check_fx_coverage(
            min(s for s, _ in windows.values()), max(e for _, e in windows.values()), config.reporting_currency
        )
    return windows


def accounts_of(connectors: list[Any], asked: list[str] | None) -> list[str] | None:
    """The asked accounts as the connectors spell them (`act_` prefixes and dashes do not matter)."""
    configured = [a for c in connectors for a in c.settings.accounts]
    return resolve_accounts(asked, configured, discovering=any(not c.settings.accounts for c in connectors))


def check_warehouse(config: PipelineConfig, *, blocks: bool = True) -> None:
    """The warehouse a run writes to is usable (`Warehouse.check_ready`); nothing is created. `blocks=False`
    leaves a warehouse whose credentials are a Prefect block (`warehouse.gcp_credentials_block`) to the flow.

    Raises:
        MDPError: one line naming the `warehouse.*` key and the cause.
    """
    if blocks or not getattr(config.warehouse, "gcp_credentials_block", None):
        from_config(config).check_ready()


def check_credentials(config: PipelineConfig, names: Sequence[str], *, blocks: bool = True) -> None:
    """Every secret reference of these connectors resolves (`env:` set and not empty, `block:` loadable);
    `blocks=False` leaves the `block:` ones (they need a Prefect API) to the flow.

    Raises:
        ConfigError: naming the first reference that does not resolve (never a value).
    """
    for index, section in enumerate(config.connectors):
        if section.name not in names:
            continue
        for key, reference in section.credentials.items():
            if blocks or not reference.startswith("block:"):
                resolve_secret(reference, key=f"connectors[{index}].credentials.{key}")
