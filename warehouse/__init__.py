"""Warehouses: the interface, DuckDB (embedded default) and BigQuery (production)."""

from __future__ import annotations

from mdp.config import DuckDBWarehouseConfig, PipelineConfig
from mdp.errors import ConfigError
from warehouse.base import LoadContext, QuarantinedRow, ReplaceResult, Scope, Warehouse


def from_config(config: PipelineConfig) -> Warehouse:
    """The warehouse the configuration selects."""
    if isinstance(config.warehouse, DuckDBWarehouseConfig):
        from warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(config.warehouse_path(), lock_timeout=config.warehouse.lock_timeout_seconds)
    raise ConfigError(
        f"warehouse.type: {config.warehouse.type!r} is not available yet in this version (use 'duckdb')"
    )


__all__ = ["LoadContext", "QuarantinedRow", "ReplaceResult", "Scope", "Warehouse", "from_config"]
