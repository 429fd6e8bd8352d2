"""docs/connectors/google_ads.md documents every raw column exactly as schema.py declares it."""

from __future__ import annotations

from connectors.google_ads.schema import AD_PERFORMANCE_COLUMNS
from connectors.google_ads.settings import AD_COLUMN_FIELDS, CUSTOMER_CLIENT_FIELDS
from mdp.paths import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "connectors" / "google_ads.md"


def column_lines() -> list[str]:
    """The column table of the doc, as generated from the schema."""
    return [
        f"| `{name}` | {dtype} | {'yes' if nullable else 'no'} | {doc} |"
        for name, (dtype, nullable, doc) in AD_PERFORMANCE_COLUMNS.items()
    ]


def test_every_column_is_documented_as_declared() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [line for line in column_lines() if line not in text]
    assert not missing, "regenerate the column table of docs/connectors/google_ads.md:\n" + "\n".join(missing)


def test_the_documented_queries_name_every_field() -> None:
    text = DOC.read_text(encoding="utf-8")
    for field in [*AD_COLUMN_FIELDS.values(), *CUSTOMER_CLIENT_FIELDS]:
        assert field in text
