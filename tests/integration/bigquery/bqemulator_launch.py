"""Starts bqemulator 1.4.0 (run by its own venv's python, tests/emulators.py) with one patch, for tests only.

bqemulator runs a multi-statement script through its scripting interpreter, which never sees the job's
query parameters: `@units` in the backend's replace transaction fails with "Values were not provided for
the following prepared statement parameters". Real BigQuery binds named parameters in scripts, and they
are the backend's right shape (no values spliced into SQL, the 10 MB request limit instead of the 1 MB
query-text limit), so the emulator is patched, not the backend: before a script with parameters runs,
each `@name` becomes a SQL literal of its value (scalars, arrays, structs). The patch is pinned to the
version it was written for and refuses any other.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import bqemulator
from bqemulator.cli import main
from bqemulator.jobs import executor

PATCHED_VERSION = "1.4.0"
_PARAMETER = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")


def _type_sql(parameter_type: dict[str, Any]) -> str:
    kind = parameter_type["type"]
    if kind == "ARRAY":
        return f"ARRAY<{_type_sql(parameter_type['arrayType'])}>"
    if kind == "STRUCT":
        fields = ", ".join(f"{f['name']} {_type_sql(f['type'])}" for f in parameter_type["structTypes"])
        return f"STRUCT<{fields}>"
    return str(kind)


def _string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


def _literal(parameter_type: dict[str, Any], value: dict[str, Any] | None) -> str:
    kind = parameter_type["type"]
    value = value or {}
    if kind == "ARRAY":
        items = value.get("arrayValues") or []
        return f"{_type_sql(parameter_type)}[{', '.join(_literal(parameter_type['arrayType'], v) for v in items)}]"
    if kind == "STRUCT":
        fields = value.get("structValues") or {}
        parts = [f"{_literal(f['type'], fields.get(f['name']))} AS {f['name']}" for f in parameter_type["structTypes"]]
        return f"STRUCT({', '.join(parts)})"
    if value.get("value") is None:
        return f"CAST(NULL AS {kind})"
    if kind == "STRING":
        return _string(value["value"])
    return f"CAST({_string(str(value['value']))} AS {kind})"


def inline_parameters(sql: str, query_params: list[dict[str, Any]]) -> str:
    """`sql` with every named `@parameter` replaced by the literal of its value."""
    literals = {p["name"]: _literal(p["parameterType"], p.get("parameterValue")) for p in query_params if p.get("name")}
    return _PARAMETER.sub(lambda m: literals.get(m.group(1), m.group(0)), sql)


_original_run_query_body = executor._run_query_body


async def _run_query_body(
    *, bq_sql: str, query_params: list[dict[str, Any]] | None, is_scripted: bool, **kw: Any
) -> Any:
    if is_scripted and query_params:
        bq_sql, query_params = inline_parameters(bq_sql, query_params), None
    return await _original_run_query_body(bq_sql=bq_sql, query_params=query_params, is_scripted=is_scripted, **kw)


if __name__ == "__main__":
    if bqemulator.__version__ != PATCHED_VERSION:
        sys.exit(f"bqemulator_launch.py patches bqemulator {PATCHED_VERSION}, found {bqemulator.__version__}")
    executor._run_query_body = _run_query_body
    sys.exit(main())
