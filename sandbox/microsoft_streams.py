"""The Microsoft Advertising sandbox's report rows: the truth's ad-level records, and their exact splits by
keyword, search query, country/state and device, written as the Reporting service writes a CSV report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sandbox.data import MICROSOFT, Account, AccountStructure, DailyRecord, money_text, money_unit_micros, stable_hash
from sandbox.segments import segment_weights, split_record
from sandbox.truth import Truth, daterange

# Report request type -> the report's name (the header's "Report Name" is the request's ReportName).
REPORT_TYPES = (
    "AdPerformanceReportRequest",
    "KeywordPerformanceReportRequest",
    "SearchQueryPerformanceReportRequest",
    "GeographicPerformanceReportRequest",
    "CampaignPerformanceReportRequest",
    "AccountPerformanceReportRequest",
)
# Microsoft's TimeZoneType of the sandbox accounts' IANA zones (what GetAccount/SearchAccounts answer).
TIME_ZONE_TYPES = {
    "Europe/Paris": "BrusselsCopenhagenMadridParis",
    "Europe/Berlin": "AmsterdamBerlinBernRomeStockholmVienna",
    "Europe/Stockholm": "AmsterdamBerlinBernRomeStockholmVienna",
    "Europe/Zurich": "AmsterdamBerlinBernRomeStockholmVienna",
    "Europe/London": "GreenwichMeanTimeDublinEdinburghLisbonLondon",
    "America/New_York": "EasternTimeUSCanada",
    "America/Los_Angeles": "PacificTimeUSCanadaTijuana",
    "Australia/Sydney": "CanberraMelbourneSydney",
    "Asia/Tokyo": "OsakaSapporoTokyo",
    "Asia/Kuwait": "KuwaitRiyadh",
}
# Market (by time zone) -> (country, states) the geographic report spreads an account's traffic over.
_GEOGRAPHY = {
    "Europe/Paris": ("France", ("Île-de-France", "Auvergne-Rhône-Alpes", "Provence-Alpes-Côte d'Azur")),
    "Europe/Berlin": ("Germany", ("Berlin", "Bavaria", "North Rhine-Westphalia")),
    "Europe/London": ("United Kingdom", ("England", "Scotland", "Wales")),
    "America/New_York": ("United States", ("New York", "New Jersey", "Massachusetts")),
    "America/Los_Angeles": ("United States", ("California", "Washington", "Oregon")),
    "Europe/Stockholm": ("Sweden", ("Stockholm County", "Västra Götaland County")),
    "Europe/Zurich": ("Switzerland", ("Zurich", "Geneva", "Bern")),
    "Australia/Sydney": ("Australia", ("New South Wales", "Victoria", "Queensland")),
    "Asia/Tokyo": ("Japan", ("Tokyo", "Osaka", "Kanagawa")),
    "Asia/Kuwait": ("Kuwait", ("Al Asimah", "Hawalli", "Al Ahmadi")),
}
DEVICES = ("Computer", "Smartphone", "Tablet")
# ReportRequest.FormatVersion values: a request without one gets 1.0 (thousands separators); 2.0 writes plain numbers.
FORMAT_VERSION_1 = "1.0"
FORMAT_VERSION_2 = "2.0"
FORMAT_VERSIONS = (FORMAT_VERSION_1, FORMAT_VERSION_2)
_MATCH_TYPES = ("Exact", "Phrase", "Broad")
_QUERY_SUFFIXES = ("", " online", " near me", " best price")

Cells = dict[str, str]


@dataclass
class Amounts:
    """Additive metrics of a report row, summed exactly (money in micros, conversions in hundredths)."""

    impressions: int = 0
    clicks: int = 0
    cost_micros: int = 0
    conversions_centi: int = 0
    revenue_micros: int = 0

    def add(self, record: DailyRecord) -> None:
        self.impressions += record.impressions
        self.clicks += record.clicks
        self.cost_micros += record.cost_micros
        self.conversions_centi += record.conversions_centi
        self.revenue_micros += record.conversions_value_micros

    def cells(self, currency: str, format_version: str) -> Cells:
        """The metric cells as the report's FormatVersion writes them: 1.0 (the default) groups the thousands of
        Impressions, Clicks, Spend and Revenue with commas ("12,345"), 2.0 does not. Money has the currency's
        decimal places ("12345" JPY, "12.34" EUR, "1.234" KWD)."""
        grouped = format_version != FORMAT_VERSION_2
        return {
            "CurrencyCode": currency,
            "Impressions": f"{self.impressions:,}" if grouped else str(self.impressions),
            "Clicks": f"{self.clicks:,}" if grouped else str(self.clicks),
            "Spend": money_text(self.cost_micros, currency, grouped=grouped),
            "Conversions": f"{Decimal(self.conversions_centi) / 100:.2f}",
            "Revenue": money_text(self.revenue_micros, currency, grouped=grouped),
        }


@dataclass(frozen=True)
class Keyword:
    keyword_id: str
    text: str
    match_type: str


def keywords(seed: int, structure: AccountStructure, ad_group_id: str) -> tuple[Keyword, ...]:
    """Two or three keywords of an ad group, from its campaign's name and the account's brand."""
    group = structure.ad_group_by_id[ad_group_id]
    campaign = structure.campaign_by_id[group.campaign_id].name.split(" | ")[0].lower()
    brand = structure.account.name.rsplit(" ", 1)[0].lower()
    stems = (f"{brand}", f"{brand} {campaign}", f"buy {campaign}")
    count = 2 + stable_hash(seed, MICROSOFT, ad_group_id, "keywords") % 2
    return tuple(
        Keyword(
            str(10**11 + stable_hash(seed, MICROSOFT, ad_group_id, "keyword", k) % (9 * 10**11)),
            stems[k],
            _MATCH_TYPES[(k + stable_hash(seed, ad_group_id)) % len(_MATCH_TYPES)],
        )
        for k in range(count)
    )


def _split(record: DailyRecord, segments: Sequence[object], unit: int, *key: object) -> list[DailyRecord]:
    return split_record(record, segment_weights([str(s) for s in segments], 0.6, *key), unit)


class ReportWriter:
    """Rows of one report (request type, account, days) from the truth, as CSV cells keyed by column."""

    def __init__(self, truth: Truth, account: Account) -> None:
        self.truth = truth
        self.account = account
        self.structure = truth.data.structure(MICROSOFT, account.account_id)
        self.unit = money_unit_micros(account.currency)

    def rows(
        self, report_type: str, start: date, end: date, as_of: date | None, format_version: str = FORMAT_VERSION_1
    ) -> list[Cells]:
        grouped: dict[tuple[str, ...], tuple[Cells, Amounts]] = {}
        for day in daterange(start, end):
            for record in self.truth.records(MICROSOFT, self.account.account_id, day, as_of):
                for cells, part in self._slices(report_type, record):
                    base = {"TimePeriod": day.isoformat(), "AccountId": self.account.account_id, **cells}
                    key = tuple(base.values())
                    entry = grouped.setdefault(key, (base, Amounts()))
                    entry[1].add(part)
        return [
            {**cells, **amounts.cells(self.account.currency, format_version)} for cells, amounts in grouped.values()
        ]

    def _slices(self, report_type: str, record: DailyRecord) -> Iterator[tuple[Cells, DailyRecord]]:
        s = self.structure
        campaign = s.campaign_by_id[record.campaign_id]
        campaign_cells = {"CampaignId": campaign.campaign_id, "CampaignName": campaign.name}
        if report_type == "AccountPerformanceReportRequest":
            yield {}, record
            return
        if report_type == "CampaignPerformanceReportRequest":
            for device, part in zip(DEVICES, _split(record, DEVICES, self.unit, record.ad_id, record.day), strict=True):
                yield {**campaign_cells, "DeviceType": device}, part
            return
        if report_type == "GeographicPerformanceReportRequest":
            country, states = _GEOGRAPHY.get(self.account.time_zone, ("United States", ("California",)))
            for state, part in zip(
                states, _split(record, states, self.unit, "geo", record.ad_id, record.day), strict=True
            ):
                yield {**campaign_cells, "Country": country, "State": state, "LocationType": "Physical location"}, part
            return
        assert record.ad_group_id is not None
        assert record.ad_id is not None
        group = s.ad_group_by_id[record.ad_group_id]
        group_cells = {**campaign_cells, "AdGroupId": group.ad_group_id, "AdGroupName": group.name}
        if report_type == "AdPerformanceReportRequest":
            ad = s.ad_by_id[record.ad_id]
            yield (
                {
                    "AccountName": self.account.name,
                    **group_cells,
                    "AdId": ad.ad_id,
                    "AdTitle": ad.name,
                    "AdType": ad.name.rsplit(" ", 1)[0],
                },
                record,
            )
            return
        words = keywords(self.truth.data.seed, s, group.ad_group_id)
        for word, part in zip(words, _split(record, words, self.unit, "kw", record.ad_id, record.day), strict=True):
            keyword_cells = {**group_cells, "KeywordId": word.keyword_id, "Keyword": word.text}
            if report_type == "KeywordPerformanceReportRequest":
                yield {**keyword_cells, "BidMatchType": word.match_type}, part
                continue
            queries = [word.text + suffix for suffix in _QUERY_SUFFIXES[:2]]
            for query, piece in zip(
                queries, _split(part, queries, self.unit, "q", word.keyword_id, record.day), strict=True
            ):
                yield {**keyword_cells, "SearchQuery": query, "DeliveredMatchType": word.match_type}, piece


def report_csv(
    rows: Sequence[Cells], columns: Sequence[str], *, name: str, time_zone: str, header: bool, footer: bool, today: date
) -> str:
    """The report file as the Reporting service writes it (Csv format, every value quoted)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    if header:
        for line in (
            f"Report Name: {name}",
            f"Report Time: {today.month}/{today.day}/{today.year}",
            f"Time Zone: {time_zone}",
            f"Last Completed Available Day: {today.month}/{today.day}/{today.year} 10:00:00 AM (GMT)",
            "Report Aggregation: Daily",
            "Report Filter: ",
            "Potential Incomplete Data: false",
            f"Rows: {len(rows)}",
        ):
            writer.writerow([line])
        out.write("\r\n")
    writer.writerow(list(columns))
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    if footer:
        out.write("\r\n")
        writer.writerow([f"\u00a9{today.year} Microsoft Corporation. All rights reserved. "])
    return "\ufeff" + out.getvalue()
