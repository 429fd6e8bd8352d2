"""dbt parses the project once per change of it: a run's first rebuilt day, new every day, is no dbt var (a changed
var re-parses the whole project) but an environment variable the macros read at execution only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.transform import START_DATE_ENV, dbt_invocation, run_dbt
from mdp.config import load_config


def parse(tmp_path: Path, start_date: str) -> dict[str, object]:
    """`dbt parse` as a daily run from `start_date` invokes dbt; dbt's perf_info of it."""
    invocation = dbt_invocation(
        load_config(None),
        command="parse",
        vars={"incremental_start_date": start_date},
        target_path=tmp_path / "target",
        log_path=tmp_path / "logs",
    )
    assert "--vars" in invocation.args
    assert start_date not in " ".join(invocation.args)
    assert invocation.env[START_DATE_ENV] == start_date
    result = run_dbt(invocation)
    assert result.success, result.exception
    perf: dict[str, object] = json.loads((tmp_path / "target" / "perf_info.json").read_text(encoding="utf-8"))
    return perf


@pytest.mark.slow
def test_the_next_days_run_reuses_the_parsed_project(tmp_path: Path) -> None:
    first = parse(tmp_path, "2026-11-01")
    assert first["parsed_path_count"] == first["path_count"]  # nothing saved yet: every file parsed
    second = parse(tmp_path, "2026-11-02")
    assert second["parsed_path_count"] == 0  # the saved manifest stayed valid: no file parsed again
