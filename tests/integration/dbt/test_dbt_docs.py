"""Every model and every column the models produce is documented; marts enforce their contracts."""

from __future__ import annotations

import json
from typing import Any

from dbt_harness import DbtProject

PROJECT = "marketing_data_platform"


def manifest(project: DbtProject) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project.work_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    return data


def test_every_model_and_built_column_is_described(dbt_project: DbtProject) -> None:
    nodes = [n for n in manifest(dbt_project)["nodes"].values() if n["resource_type"] == "model"]
    assert len(nodes) >= 11
    undocumented = []
    for node in nodes:
        if not node["description"].strip():
            undocumented.append(node["name"])
        if node["config"]["materialized"] == "ephemeral":  # int_<channel>__<union>: inlined, never built
            continue
        built = dbt_project.query(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?".replace(
                "?", "'{}'"
            ).format(node["schema"], node["alias"])
        )
        assert built, node["name"]
        documented = {name: col["description"].strip() for name, col in node["columns"].items()}
        undocumented += [f"{node['name']}.{c}" for (c,) in built if not documented.get(c)]
        stale = set(documented) - {c for (c,) in built}
        assert not stale, f"{node['name']} documents columns it does not have: {sorted(stale)}"
    assert not undocumented, undocumented


def test_marts_enforce_contracts(dbt_project: DbtProject) -> None:
    marts = [
        n for n in manifest(dbt_project)["nodes"].values() if n["resource_type"] == "model" and n["fqn"][1] == "marts"
    ]
    assert len(marts) == 25  # the fact, 3 daily marts, 2 dims, 3 SCD2 histories, 13 reports, the reconciliation,
    # the account-days left out, the semantic layer's time spine
    for node in marts:
        assert node["contract"]["enforced"], node["name"]
        assert all(c["data_type"] for c in node["columns"].values()), node["name"]
