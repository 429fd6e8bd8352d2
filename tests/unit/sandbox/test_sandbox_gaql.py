"""GAQL parsing and evaluation."""

from __future__ import annotations

from datetime import date

import pytest

from sandbox import gaql

TODAY = date(2025, 3, 12)  # a Wednesday


def test_parses_select_from_where_order_limit() -> None:
    query = gaql.parse(
        "SELECT segments.date, campaign.id, metrics.cost_micros FROM campaign "
        "WHERE segments.date BETWEEN '2025-01-01' AND '2025-01-31' AND campaign.status != 'REMOVED' "
        "AND customer_client.manager = FALSE AND campaign.id IN (1, 2) ORDER BY segments.date DESC LIMIT 5"
    )
    assert query.fields == ("segments.date", "campaign.id", "metrics.cost_micros")
    assert query.resource == "campaign"
    assert [c.op for c in query.conditions] == ["BETWEEN", "!=", "=", "IN"]
    assert query.conditions[2].value is False
    assert query.order_by == (("segments.date", True),)
    assert query.limit == 5
    assert gaql.date_range(query, TODAY) == (date(2025, 1, 1), date(2025, 1, 31))


def test_keywords_are_case_insensitive_and_enums_may_be_bare() -> None:
    query = gaql.parse("select campaign.id from campaign where campaign.status = ENABLED limit 1")
    assert query.conditions[0].value == gaql.Enum("ENABLED")
    assert gaql.matches(query.conditions[0], {"campaign.status": "ENABLED"}, TODAY)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("campaign.id FROM campaign", "EXPECTED_SELECT"),
        ("SELECT campaign.id campaign", "EXPECTED_FROM"),
        ("SELECT campaign.id FROM", "UNEXPECTED_END_OF_QUERY"),
        ("SELECT campaign.id FROM campaign WHERE campaign.id ~ 3", "BAD_SYMBOL"),
        ("SELECT campaign.id FROM campaign LIMIT 0", "BAD_LIMIT_VALUE"),
        (
            "SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_9_DAYS",
            "INVALID_VALUE_WITH_DURING_OPERATOR",
        ),
        ("SELECT campaign.id FROM campaign WHERE campaign.id CONTAINS 3", "BAD_OPERATOR"),
        ("SELECT campaign.id FROM campaign.x", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT campaign.id FROM campaign extra", "UNEXPECTED_INPUT"),
    ],
)
def test_rejects_what_it_does_not_support(text: str, error: str) -> None:
    with pytest.raises(gaql.GaqlError) as info:
        gaql.parse(text)
    assert info.value.error == error


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("segments.date = '2025-02-03'", (date(2025, 2, 3), date(2025, 2, 3))),
        (
            "segments.date >= '2025-02-03' AND segments.date <= '2025-02-05'",
            (date(2025, 2, 3), date(2025, 2, 5)),
        ),
        (
            "segments.date > '2025-02-03' AND segments.date < '2025-02-05'",
            (date(2025, 2, 4), date(2025, 2, 4)),
        ),
        ("segments.date DURING YESTERDAY", (date(2025, 3, 11), date(2025, 3, 11))),
        ("segments.date DURING LAST_7_DAYS", (date(2025, 3, 5), date(2025, 3, 11))),
        ("segments.date DURING LAST_MONTH", (date(2025, 2, 1), date(2025, 2, 28))),
        ("segments.date IN ('2025-01-05', '2025-01-02')", (date(2025, 1, 2), date(2025, 1, 5))),
    ],
)
def test_date_ranges(where: str, expected: tuple[date, date]) -> None:
    assert gaql.date_range(gaql.parse(f"SELECT campaign.id FROM campaign WHERE {where}"), TODAY) == expected


def test_open_or_bad_date_ranges_are_rejected() -> None:
    with pytest.raises(gaql.GaqlError) as info:
        gaql.date_range(gaql.parse("SELECT a.b FROM campaign WHERE segments.date >= '2025-01-01'"), TODAY)
    assert info.value.error == "EXPECTED_FILTERS_ON_DATE_RANGE"
    with pytest.raises(gaql.GaqlError) as info:
        gaql.date_range(gaql.parse("SELECT a.b FROM campaign WHERE segments.date = '2025-13-01'"), TODAY)
    assert info.value.error == "INVALID_DATE_FORMAT"
    assert gaql.date_range(gaql.parse("SELECT a.b FROM campaign"), TODAY) is None


def test_filter_order_and_limit() -> None:
    rows = [
        {"campaign.id": 1, "campaign.name": "Brand", "metrics.clicks": 5, "customer_client.manager": False},
        {"campaign.id": 2, "campaign.name": "Generic", "metrics.clicks": 9, "customer_client.manager": True},
        {"campaign.id": 3, "campaign.name": "Brand 2", "metrics.clicks": 7, "customer_client.manager": False},
    ]
    query = gaql.parse(
        "SELECT campaign.id FROM campaign WHERE customer_client.manager = FALSE "
        "AND campaign.name LIKE 'brand%' AND metrics.clicks > '4' ORDER BY metrics.clicks DESC LIMIT 1"
    )
    assert [r["campaign.id"] for r in gaql.filter_rows(rows, query, TODAY)] == [3]
    not_in = gaql.parse("SELECT campaign.id FROM campaign WHERE campaign.id NOT IN (1, 3)")
    assert [r["campaign.id"] for r in gaql.filter_rows(rows, not_in, TODAY)] == [2]
    between = gaql.parse("SELECT campaign.id FROM campaign WHERE metrics.clicks BETWEEN 6 AND 9")
    assert [r["campaign.id"] for r in gaql.filter_rows(rows, between, TODAY)] == [2, 3]
