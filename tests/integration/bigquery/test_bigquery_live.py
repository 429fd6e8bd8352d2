"""Live: the replace property (random overlapping scopes, some loads failing part-way, against an in-memory
model) on a real BigQuery project (test_bigquery_emulator.py runs the same check on bqemulator). Runs only when MDP_BIGQUERY_LIVE_PROJECT and Application Default
Credentials are present; it creates `mdp_live_<random>_*` datasets and deletes them afterwards."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator

import google.auth
import pytest
from google.auth.exceptions import DefaultCredentialsError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdp.errors import ScopeError
from tests.integration.test_replace_properties import SPEC, UNITS, Boom, feed, operations
from warehouse.base import LoadContext, Scope
from warehouse.bigquery import BigQueryWarehouse

LIVE_PROJECT = os.environ.get("MDP_BIGQUERY_LIVE_PROJECT", "")
LIVE_LOCATION = os.environ.get("MDP_BIGQUERY_LIVE_LOCATION", "EU")
LIVE_EXAMPLES = int(os.environ.get("MDP_BIGQUERY_LIVE_EXAMPLES", "15"))

pytestmark = [
    pytest.mark.bigquery_live,
    pytest.mark.skipif(
        not LIVE_PROJECT,
        reason="live BigQuery test: set MDP_BIGQUERY_LIVE_PROJECT (and Application Default Credentials) to run it",
    ),
]


@pytest.fixture(scope="module")
def live_warehouse() -> Iterator[BigQueryWarehouse]:
    try:
        google.auth.default()  # type: ignore[no-untyped-call]
    except DefaultCredentialsError:
        pytest.skip("MDP_BIGQUERY_LIVE_PROJECT is set but no Application Default Credentials were found")
    wh = BigQueryWarehouse(LIVE_PROJECT, LIVE_LOCATION, dataset_prefix=f"mdp_live_{uuid.uuid4().hex[:8]}_")
    try:
        yield wh
    finally:
        for schema_name in (SPEC.schema_name, "ops"):
            wh.client.delete_dataset(wh.dataset_id(schema_name), delete_contents=True, not_found_ok=True, timeout=60)


def content(wh: BigQueryWarehouse) -> list[tuple[object, ...]]:
    if not wh.table_exists(SPEC.name):
        return []
    return wh.query(f"SELECT account_id, day, value FROM `{wh.table_id(SPEC.name)}` ORDER BY 1, 2, 3")


@settings(
    max_examples=LIVE_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(operations(), min_size=1, max_size=4))
def test_replace_sequence_matches_in_memory_model_on_bigquery(
    live_warehouse: BigQueryWarehouse, ops: list[dict[str, object]]
) -> None:
    check_replace_sequence(live_warehouse, ops)


def check_replace_sequence(wh: BigQueryWarehouse, ops: list[dict[str, object]]) -> None:
    """Run the replace calls of `ops` on an emptied table; it ends equal to the in-memory model."""
    if wh.table_exists(SPEC.name):
        wh.query(f"TRUNCATE TABLE `{wh.table_id(SPEC.name)}`")
    model: dict[tuple[str, dt.date], list[int]] = {}
    run = uuid.uuid4().hex[:8]
    for i, op in enumerate(ops):
        scope = op["scope"]
        assert isinstance(scope, set)
        expect_failure = op["failure"] == "raise_midway" or (op["failure"] == "stray_row" and len(scope) < len(UNITS))
        try:
            wh.replace_partitions(SPEC, feed(op), Scope.from_units(scope), LoadContext("live", f"{run}-{i}"))
        except (Boom, ScopeError):
            assert expect_failure
        else:
            assert not expect_failure
            data = op["data"]
            assert isinstance(data, dict)
            for unit in scope:
                model[unit] = sorted(data[unit])
    expected = sorted((a, d, v) for (a, d), values in model.items() for v in values)
    assert content(wh) == expected
    counts = {unit: len(values) for unit, values in model.items() if values}
    assert wh.row_counts(SPEC) == counts
