"""The ratio metrics are defined once: the marts' macro (ratio_definitions, rendered through performance_ratios)
and the dbt semantic layer's metrics name the same ratios with the same numerators and denominators."""

from __future__ import annotations

import re
from typing import Any

import jinja2
import pytest
import yaml

from mdp.paths import TRANSFORMATIONS_DIR

MACROS = TRANSFORMATIONS_DIR / "macros" / "ad_performance.sql"
SEMANTIC = TRANSFORMATIONS_DIR / "models" / "marts" / "semantic" / "ad_performance.yml"
EXPECTED_RATIOS = {"ctr", "cpc", "cpm", "cpa", "roas", "conversion_rate", "value_per_conversion"}
# The columns performance_ratios reads by default: the marts' base measures (money in the reporting currency).
MART_COLUMNS = {
    "impressions": "impressions",
    "clicks": "clicks",
    "conversions": "conversions",
    "spend": "spend_reporting",
    "conversion_value": "conversion_value_reporting",
}


class _Returned(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


def _return(value: Any) -> None:
    raise _Returned(value)


def _macros(**stand_ins: Any) -> Any:
    """The macro file rendered by Jinja, dbt's `return` and `safe_divide` stood in for; a macro given in
    `stand_ins` is cut out of the file and replaced by the stand-in."""
    text = MACROS.read_text(encoding="utf-8")
    for name in stand_ins:
        text = re.sub(r"{%\s*macro " + name + r"\(.*?{%-?\s*endmacro\s*%}", "", text, count=1, flags=re.S)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])
    env.globals.update({"return": _return, "safe_divide": lambda num, den: f"SAFE_DIVIDE[{num}][{den}]", **stand_ins})
    return env.from_string(text).module


def macro_ratios() -> dict[str, dict[str, Any]]:
    with pytest.raises(_Returned) as returned:
        _macros().ratio_definitions()
    return {r["name"]: r for r in returned.value.value}


def semantic() -> dict[str, Any]:
    return yaml.safe_load(SEMANTIC.read_text(encoding="utf-8"))


def test_the_macro_defines_every_ratio_once() -> None:
    ratios = macro_ratios()
    assert set(ratios) == EXPECTED_RATIOS
    assert {r["numerator"] for r in ratios.values()} | {r["denominator"] for r in ratios.values()} <= set(MART_COLUMNS)
    assert ratios["cpm"]["scale"] == 1000
    assert ratios["roas"] == {"name": "roas", "numerator": "conversion_value", "denominator": "spend"}


def test_the_marts_columns_come_from_the_definitions() -> None:
    """performance_ratios renders every definition, on the marts' columns, as a float ratio of the sums."""
    definitions = list(macro_ratios().values())
    rendered = str(_macros(ratio_definitions=lambda: definitions).performance_ratios())
    columns = dict(
        (name, (num, den)) for num, den, name in re.findall(r"SAFE_DIVIDE\[(.+?)\]\[(.+?)\] as (\w+)", rendered)
    )
    assert set(columns) == EXPECTED_RATIOS
    for name, ratio in macro_ratios().items():
        numerator = MART_COLUMNS[ratio["numerator"]]
        if "scale" in ratio:
            numerator = f"({numerator}) * {ratio['scale']}"
        assert columns[name] == (numerator, MART_COLUMNS[ratio["denominator"]]), name


def _base_measure(metric: dict[str, Any], measures: dict[str, dict[str, Any]]) -> str:
    """The mart base measure a simple metric sums (its measure's column, named as in ratio_definitions)."""
    assert metric["type"] == "simple", metric["name"]
    measure = measures[metric["type_params"]["measure"]]
    assert measure["agg"] == "sum", measure["name"]
    column = measure.get("expr", measure["name"])
    return {v: k for k, v in MART_COLUMNS.items()}[column]


def test_the_semantic_metrics_are_the_same_ratios_of_sums() -> None:
    doc = semantic()
    (model,) = doc["semantic_models"]
    assert model["model"] == "ref('fct_ad_performance_daily')"
    measures = {m["name"]: m for m in model["measures"]}
    metrics = {m["name"]: m for m in doc["metrics"]}
    ratios = macro_ratios()
    assert set(metrics) >= EXPECTED_RATIOS
    for name, ratio in ratios.items():
        metric = metrics[name]
        params = metric["type_params"]
        if "scale" in ratio:
            # derived: numerator * scale / nullif(denominator, 0), over simple metrics (sums)
            match = re.fullmatch(r"(\w+) \* (\d+) / nullif\((\w+), 0\)", params["expr"])
            assert metric["type"] == "derived", name
            assert match is not None, params["expr"]
            numerator, scale, denominator = match.groups()
            assert int(scale) == ratio["scale"], name
            assert {m["name"] for m in params["metrics"]} == {numerator, denominator}
        else:
            assert metric["type"] == "ratio", name
            numerator, denominator = params["numerator"], params["denominator"]
        assert _base_measure(metrics[numerator], measures) == ratio["numerator"], name
        assert _base_measure(metrics[denominator], measures) == ratio["denominator"], name


def test_every_semantic_ratio_is_a_defined_one() -> None:
    """No metric of the semantic layer is a ratio the marts do not define (a second definition)."""
    ratio_like = {m["name"] for m in semantic()["metrics"] if m["type"] in ("ratio", "derived")}
    assert ratio_like == EXPECTED_RATIOS


def test_the_marts_carry_every_ratio_with_a_contract_and_docs() -> None:
    docs = (TRANSFORMATIONS_DIR / "models" / "docs.md").read_text(encoding="utf-8")
    marts = TRANSFORMATIONS_DIR / "models" / "marts"
    carrying = [
        p for p in marts.rglob("*.yml") if "name: roas" in p.read_text(encoding="utf-8") and p.parent.name != "semantic"
    ]
    assert len(carrying) >= 4
    for path in carrying:
        (model,) = yaml.safe_load(path.read_text(encoding="utf-8"))["models"]
        assert model["config"]["contract"] == {"enforced": True}, path.name
        columns = {c["name"]: c for c in model["columns"]}
        for name in EXPECTED_RATIOS:
            assert name in columns, (path.name, name)
            assert columns[name]["description"] == f"{{{{ doc('{name}') }}}}", (path.name, name)
            assert "['float']" in columns[name]["data_type"], (path.name, name)
    for name in EXPECTED_RATIOS:
        assert f"{{% docs {name} %}}" in docs, name
