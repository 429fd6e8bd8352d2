"""Report CSV -> raw records: the report header, totals and copyright footer are skipped and noted, every bad line
is quarantined with its reason (never dropped), values are typed (money as exact decimals)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from connectors.base import Account
from connectors.kit.rows import to_table
from connectors.microsoft_ads.rows import BadReport, ReportBatch, report_lines
from connectors.microsoft_ads.schema import REPORT_TABLES
from connectors.microsoft_ads.settings import REPORT_QUERIES

ACCOUNT = Account("123456789", "Shop UK", "GBP", "Europe/London")
START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 11)
DEVICE_COLUMNS = REPORT_QUERIES["device_performance"].columns


def csv_text(*lines: str, header: bool = True, footer: bool = True) -> str:
    out = []
    if header:
        out += ['"Report Name: mdp"', '"Report Time: 3/12/2025"', '"Rows: 2"', ""]
    out.append(",".join(f'"{c}"' for c in DEVICE_COLUMNS))
    out += list(lines)
    if footer:
        out += ["", '"\u00a92025 Microsoft Corporation. All rights reserved. "']
    return "\ufeff" + "\r\n".join(out) + "\r\n"


GOOD = '"2025-03-10","123456789","111","Brand","Computer","GBP","100","7","12.34","1.50","40.00"'
GOOD2 = '"2025-03-11","123456789","111","Brand","Smartphone","GBP","1,200","70","0.10","0","0"'


def batch(text: str) -> ReportBatch:
    result = ReportBatch("device_performance", ACCOUNT, START, END)
    result.add(text)
    return result


def test_rows_are_typed_and_the_header_and_footer_noted() -> None:
    parsed = batch(csv_text(GOOD, GOOD2))
    assert parsed.quarantine == []
    assert parsed.skipped == ["3 report header line(s)", "copyright footer"]
    first, second = parsed.records
    assert first["date"] == START
    assert (first["impressions"], first["clicks"]) == (100, 7)
    assert first["spend"] == Decimal("12.340000")
    assert first["revenue"] == Decimal("40.000000")
    assert first["conversions"] == 1.5
    assert (first["account_currency"], first["device_type"]) == ("GBP", "Computer")
    assert second["impressions"] == 1200
    table = to_table(parsed.records, REPORT_TABLES["device_performance"])
    assert table.schema == REPORT_TABLES["device_performance"].schema
    assert table.num_rows == 2


def test_a_file_without_header_or_footer_reads_the_same() -> None:
    assert batch(csv_text(GOOD, GOOD2, header=False, footer=False)).records == batch(csv_text(GOOD, GOOD2)).records


def test_a_totals_line_ends_the_data() -> None:
    totals = '"Total","","","","","","1300","77","12.44","1.50","40.00"'
    parsed = batch(csv_text(GOOD, totals, footer=False))
    assert len(parsed.records) == 1
    assert parsed.skipped[-1] == "totals line"


def test_an_empty_report_has_no_rows() -> None:
    assert report_lines("", DEVICE_COLUMNS) == ([], [])
    assert batch(csv_text()).records == []


def test_columns_other_than_requested_fail_the_report() -> None:
    with pytest.raises(BadReport, match="not the requested"):
        report_lines('"TimePeriod","AccountId"\r\n', DEVICE_COLUMNS)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            '"2025-03-10","123456789","111","Brand","Computer","GBP","n/a","7","12.34","1.50","40.00"',
            "unparsable:Impressions 'n/a' is not a number",
        ),
        (
            '"2025-03-10","123456789","111","Brand","Computer","GBP","100","7","-1.00","0","0"',
            "negative_cost:Spend (-1.00)",
        ),
        (
            '"2025-03-10","123456789","","Brand","Computer","GBP","100","7","1.00","0","0"',
            "missing_id:CampaignId is empty",
        ),
        ('"2025-03-10","123456789","111","Brand","Computer","GBP","100"', "malformed:line 7: 7 fields, expected 11"),
        (
            '"2025-03-09","123456789","111","Brand","Computer","GBP","100","7","1.00","0","0"',
            "date_out_of_range",
        ),
        ('"2025-03-10","999","111","Brand","Computer","GBP","100","7","1.00","0","0"', "account_mismatch"),
        (
            '"10/03/2025x","123456789","111","Brand","Computer","GBP","100","7","1.00","0","0"',
            "unparsable:TimePeriod '10/03/2025x' is not a date",
        ),
        (
            '"2025-03-10","123456789","111","Brand","Computer","GBP","100.5","7","1.00","0","0"',
            "unparsable:Impressions '100.5' is not a whole number",
        ),
    ],
)
def test_a_bad_line_is_quarantined_with_its_reason(line: str, reason: str) -> None:
    parsed = batch(csv_text(GOOD, line))
    assert len(parsed.records) == 1
    (bad,) = parsed.quarantine
    assert bad.reason == reason
    assert bad.account_id == ACCOUNT.id
    assert START <= bad.day <= END
    assert bad.record


def test_us_dates_and_a_missing_currency_fall_back() -> None:
    line = '"3/11/2025","123456789","111","Brand","Tablet","","5","1","0.50","0","0"'
    (record,) = batch(csv_text(line)).records
    assert record["date"] == dt.date(2025, 3, 11)
    assert record["account_currency"] == "GBP"  # the account's


def test_geographic_rows_get_a_country_code() -> None:
    columns = REPORT_QUERIES["geographic_performance"].columns
    header = ",".join(f'"{c}"' for c in columns)
    line = '"2025-03-10","123456789","111","Brand","United Kingdom","Wales","Physical location","GBP","5","1","0.50","0","0"'
    unknown = line.replace("United Kingdom", "Atlantis").replace("Wales", "Deep")
    parsed = ReportBatch("geographic_performance", ACCOUNT, START, END)
    parsed.add("\r\n".join([header, line, unknown]))
    assert [r["country_code"] for r in parsed.records] == ["GB", None]


def test_ad_rows_carry_the_accounts_time_zone_and_name() -> None:
    columns = REPORT_QUERIES["ad_performance"].columns
    header = ",".join(f'"{c}"' for c in columns)
    line = '"2025-03-10","123456789","","1","C","2","G","3","Title","Responsive search ad","GBP","5","1","0.50","0.25","1.00"'
    parsed = ReportBatch("ad_performance", ACCOUNT, START, END)
    parsed.add(header + "\r\n" + line)
    (record,) = parsed.records
    assert (record["account_name"], record["account_timezone"]) == ("Shop UK", "Europe/London")
    assert to_table(parsed.records, REPORT_TABLES["ad_performance"]).num_rows == 1
