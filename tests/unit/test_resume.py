"""Resuming an interrupted run: a unit is skipped only when every one of its days landed."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.registry import connector_class
from flows.daily import plan
from flows.ingest import not_landed
from flows.windows import ParameterError, run_parameters
from mdp.config import PipelineConfig

D = dt.date(2025, 3, 10)


def test_a_unit_is_skipped_only_when_all_its_days_landed() -> None:
    cls = connector_class("meta_ads")
    connector = cls(cls.settings_model.model_validate({"name": "meta", "type": "meta_ads", "accounts": ["1", "2"]}))
    table = connector.stream("ad_insights").table.name
    units = [("ad_insights", "1", D, D + dt.timedelta(days=2)), ("ad_insights", "2", D, D + dt.timedelta(days=2))]
    landed = {("meta", table, "1", D + dt.timedelta(days=n)) for n in range(3)}
    landed |= {("meta", table, "2", D), ("meta", table, "2", D + dt.timedelta(days=1))}  # day 3 missing
    landed |= {("other", table, "2", D + dt.timedelta(days=2))}  # another connector's load does not count
    assert not_landed(connector, "meta", units, landed) == [units[1]]
    assert not_landed(connector, "meta", units, set()) == units


def test_resume_and_retry_failed_exclude_each_other() -> None:
    config = PipelineConfig.model_validate(
        {"connectors": [{"name": "meta", "type": "meta_ads", "accounts": ["1"]}], "warehouse": {"type": "duckdb"}}
    )
    params = run_parameters(retry_failed="latest", resume="abc", run_dbt=False)
    with pytest.raises(ParameterError, match="resume and retry_failed exclude each other"):
        plan(config, params, D)
