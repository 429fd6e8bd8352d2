"""docs/connectors/google_ads.md documents every stream and raw column exactly as schema.py declares it."""

from __future__ import annotations

from connectors.google_ads.connector import GoogleAdsConnector
from connectors.google_ads.settings import AD_COLUMN_FIELDS, CUSTOMER_CLIENT_FIELDS, GEO_TARGET_FIELDS, STREAM_QUERIES
from mdp.paths import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "connectors" / "google_ads.md"


def column_lines() -> list[str]:
    """The column table of the doc, as generated from the schema."""
    return [
        f"| `{field.name}` | {field.type} | {'yes' if field.nullable else 'no'} | {stream.table.column_docs[field.name]} |"
        for stream in GoogleAdsConnector.streams
        for field in stream.table.schema
    ]


def test_every_stream_and_table_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for stream in GoogleAdsConnector.streams:
        assert f"| `{stream.name}` | {stream.kind} |" in text
        assert f"`{stream.table.name}`" in text


def test_every_column_is_documented_as_declared() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [line for line in column_lines() if line not in text]
    assert not missing, "regenerate the column table of docs/connectors/google_ads.md:\n" + "\n".join(missing)


def test_the_documented_queries_name_every_field() -> None:
    text = DOC.read_text(encoding="utf-8")
    streams = [f for query in STREAM_QUERIES.values() for f in query.fields]
    for field in [*AD_COLUMN_FIELDS.values(), *CUSTOMER_CLIENT_FIELDS, *GEO_TARGET_FIELDS, *streams]:
        assert field in text
