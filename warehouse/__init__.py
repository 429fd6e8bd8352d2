"""Warehouses: the interface, DuckDB (embedded default) and BigQuery (production)."""

from __future__ import annotations

from mdp.config import BigQueryWarehouseConfig, DuckDBWarehouseConfig, PipelineConfig
from warehouse.base import LoadContext, QuarantinedRow, ReplaceResult, Scope, Warehouse


def from_config(config: PipelineConfig, *, read_only: bool = False) -> Warehouse:
    """The warehouse the configuration selects; `read_only` for readers (reports): a DuckDB file is then
    opened read-only and must exist."""
    if isinstance(config.warehouse, DuckDBWarehouseConfig):
        from warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(
            config.warehouse_path(), lock_timeout=config.warehouse.lock_timeout_seconds, read_only=read_only
        )
    if isinstance(config.warehouse, BigQueryWarehouseConfig):
        from warehouse.bigquery import BigQueryWarehouse

        return BigQueryWarehouse(
            config.warehouse.project,
            config.warehouse.location,
            config.warehouse.dataset_prefix,
            credentials_block=config.warehouse.gcp_credentials_block,
        )
    raise AssertionError(f"unknown warehouse configuration {type(config.warehouse).__name__}")


__all__ = ["LoadContext", "QuarantinedRow", "ReplaceResult", "Scope", "Warehouse", "from_config"]
