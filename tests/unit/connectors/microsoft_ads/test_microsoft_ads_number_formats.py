"""Every number format a report may carry: FormatVersion 2.0 is asked for, yet thousands separators (1.0) are read
exactly in money, count and decimal columns; a misplaced separator, a negative or a NaN goes to quarantine with
the column and value named; zero-decimal (JPY), three-decimal (KWD) and large amounts keep every digit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from bingads.authorization import AuthorizationData
from bingads.service_client import ServiceClient

from connectors.base import Account
from connectors.kit.rows import to_table
from connectors.microsoft_ads.reports import report_request
from connectors.microsoft_ads.rows import ReportBatch
from connectors.microsoft_ads.schema import REPORT_TABLES
from connectors.microsoft_ads.settings import API_VERSION, REPORT_FORMAT_VERSION, REPORT_QUERIES, REPORTING_SERVICE

JPY = Account("123456789", "Shop JP", "JPY", "Asia/Tokyo")
KWD = Account("123456789", "Shop KW", "KWD", "Asia/Kuwait")
KRW = Account("123456789", "Shop KR", "KRW", "Asia/Seoul")
START = END = dt.date(2025, 3, 10)
COLUMNS = REPORT_QUERIES["device_performance"].columns


def line(currency: str, impressions: str, clicks: str, spend: str, conversions: str, revenue: str) -> str:
    cells = ["2025-03-10", "123456789", "111", "Brand", "Computer", currency, impressions, clicks, spend]
    return ",".join(f'"{c}"' for c in [*cells, conversions, revenue])


def parse(account: Account, *lines: str) -> ReportBatch:
    batch = ReportBatch("device_performance", account, START, END)
    batch.add("\r\n".join([",".join(f'"{c}"' for c in COLUMNS), *lines]) + "\r\n")
    return batch


def test_every_report_request_asks_for_format_version_2() -> None:
    service = ServiceClient(
        REPORTING_SERVICE,
        API_VERSION,
        authorization_data=AuthorizationData(developer_token="x"),
        environment="production",
    )
    assert REPORT_FORMAT_VERSION == "2.0"
    for stream in REPORT_QUERIES:
        request = report_request(service, stream, "123456789", START, END)
        assert request.FormatVersion == "2.0", stream


def test_format_version_1_separators_are_read_exactly_in_every_numeric_column() -> None:
    batch = parse(JPY, line("JPY", "1,234,567", "12,345", "1,234,567", "1,234.56", "12,345"))
    assert batch.quarantine == []
    (record,) = batch.records
    assert (record["impressions"], record["clicks"]) == (1_234_567, 12_345)
    assert record["spend"] == Decimal("1234567")
    assert record["revenue"] == Decimal("12345")
    assert record["conversions"] == 1234.56


def test_zero_decimal_currency_keeps_whole_yen() -> None:
    (record,) = parse(JPY, line("JPY", "10", "1", "98,765", "0", "1,000,001")).records
    assert record["spend"] == Decimal(98765)
    assert record["revenue"] == Decimal(1_000_001)
    table = to_table([record], REPORT_TABLES["device_performance"])
    assert table.column("revenue").to_pylist() == [Decimal("1000001.000000")]


def test_three_decimal_currency_keeps_its_thousandths() -> None:
    (record,) = parse(KWD, line("KWD", "10", "1", "1,234.567", "0", "0.001")).records
    assert record["spend"] == Decimal("1234.567")
    assert record["revenue"] == Decimal("0.001")
    table = to_table([record], REPORT_TABLES["device_performance"])
    assert table.column("spend").to_pylist() == [Decimal("1234.567000")]


@pytest.mark.parametrize(
    ("spend", "expected"),
    [
        ("123,456,789,012.34", Decimal("123456789012.34")),
        ("123456789012.34", Decimal("123456789012.34")),
        ("999,999,999,999.999999", Decimal("999999999999.999999")),
    ],
)
def test_large_amounts_are_exact(spend: str, expected: Decimal) -> None:
    (record,) = parse(KRW, line("KRW", "1", "1", spend, "0", spend)).records
    assert record["spend"] == record["revenue"] == expected
    table = to_table([record], REPORT_TABLES["device_performance"])
    assert table.column("spend").to_pylist() == [expected]


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (
            ("1,23", "1", "1.00", "0", "0"),
            "unparsable:Impressions '1,23' is not a number (misplaced thousands separator)",
        ),
        (
            ("1", "12,34,5", "1.00", "0", "0"),
            "unparsable:Clicks '12,34,5' is not a number (misplaced thousands separator)",
        ),
        (
            ("1", "1", "1.234,56", "0", "0"),
            "unparsable:Spend '1.234,56' is not a number (misplaced thousands separator)",
        ),
        (
            ("1", "1", "1.00", "1,2", "0"),
            "unparsable:Conversions '1,2' is not a number (misplaced thousands separator)",
        ),
        (
            ("1", "1", "1.00", "0", "12,345,6"),
            "unparsable:Revenue '12,345,6' is not a number (misplaced thousands separator)",
        ),
        (("1", "1", "1.00", "0", ",123"), "unparsable:Revenue ',123' is not a number (misplaced thousands separator)"),
        (("1", "1", "NaN", "0", "0"), "unparsable:Spend 'NaN' is not a number"),
        (("1", "1", "1.00", "0", "Infinity"), "unparsable:Revenue 'Infinity' is not a number"),
        (("1", "1", "-1,234.00", "0", "0"), "negative_cost:Spend (-1,234.00)"),
        (("1", "1", "1.00", "0", "-5"), "negative_metric:Revenue (-5)"),
        (("1", "1", "1,000,000,000,000", "0", "0"), "out_of_range:Spend '1,000,000,000,000'"),
        (("1,200.5", "1", "1.00", "0", "0"), "unparsable:Impressions '1,200.5' is not a whole number"),
    ],
)
def test_malformed_numbers_are_quarantined_naming_column_and_value(cells: tuple[str, ...], reason: str) -> None:
    good = line("JPY", "1", "1", "100", "0", "0")
    batch = parse(JPY, good, line("JPY", *cells))
    assert len(batch.records) == 1
    (bad,) = batch.quarantine
    assert bad.reason == reason
    assert bad.record is not None
