"""The Microsoft Advertising sandbox's report rows: the truth's ad-level records, and their exact splits by
keyword, search query, country/state, device, network, age group and gender, grouped by the attribute columns a
request lists (as the Reporting service groups a report's rows), written as it writes a CSV report."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sandbox.data import MICROSOFT, Account, AccountStructure, DailyRecord, money_text, money_unit_micros
from sandbox.hashing import stable_hash
from sandbox.segments import segment_weights, split_record
from sandbox.truth import Truth, daterange

# Every report request type is served (the connector's streams and custom reports): its rows are the same truth,
# grouped by the attribute columns it asks for. The sandbox does not check a type's column list; the connector does.
REPORT_TYPE_PATTERN = re.compile(r"[A-Za-z]+ReportRequest")
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
NETWORKS = ("Microsoft sites and select traffic", "Syndicated search partners", "Audience network")
AGE_GROUPS = ("25-34", "35-49", "18-24", "50-64", "65+")
GENDERS = ("Female", "Male", "Unknown")
# The statistics the sandbox computes (with CurrencyCode, the cells Amounts writes); every other requested
# column is an attribute the rows are grouped by (empty when the sandbox has no value for it, which the
# connector reads as 0 for an additive statistic and null otherwise).
STATISTICS = frozenset(
    {
        "CurrencyCode",
        "Impressions",
        "Clicks",
        "Spend",
        "Conversions",
        "Revenue",
        "AllConversions",
        "AllRevenue",
        "ViewThroughConversions",
        "Ctr",
        "AverageCpc",
        "AverageCpm",
        "ConversionRate",
        "CostPerConversion",
        "ReturnOnAdSpend",
    }
)
_KEYWORD_COLUMNS = frozenset({"KeywordId", "Keyword", "BidMatchType", "SearchQuery", "DeliveredMatchType"})
_GEO_COLUMNS = frozenset({"Country", "State", "LocationType"})
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
    view_through: int = 0

    def add(self, record: DailyRecord) -> None:
        self.impressions += record.impressions
        self.clicks += record.clicks
        self.cost_micros += record.cost_micros
        self.conversions_centi += record.conversions_centi
        self.revenue_micros += record.conversions_value_micros
        self.view_through += record.view_through_conversions

    def cells(self, currency: str, format_version: str) -> Cells:
        """The metric cells as the report's FormatVersion writes them: 1.0 (the default) groups the thousands of
        Impressions, Clicks, Spend and Revenue with commas ("12,345"), 2.0 does not. Money has the currency's
        decimal places ("12345" JPY, "12.34" EUR, "1.234" KWD)."""
        grouped = format_version != FORMAT_VERSION_2
        conversions = Decimal(self.conversions_centi) / 100
        cost = Decimal(self.cost_micros) / 1_000_000
        revenue = Decimal(self.revenue_micros) / 1_000_000

        def ratio(numerator: Decimal, denominator: Decimal, scale: int = 1, suffix: str = "") -> str:
            return f"{numerator * scale / denominator:.2f}{suffix}" if denominator else ""

        return {
            "CurrencyCode": currency,
            "Impressions": f"{self.impressions:,}" if grouped else str(self.impressions),
            "Clicks": f"{self.clicks:,}" if grouped else str(self.clicks),
            "Spend": money_text(self.cost_micros, currency, grouped=grouped),
            "Conversions": f"{conversions:.2f}",
            "Revenue": money_text(self.revenue_micros, currency, grouped=grouped),
            # All conversions: the click conversions and the view-through ones (Audience network).
            "AllConversions": f"{conversions + self.view_through:.2f}",
            "AllRevenue": money_text(self.revenue_micros, currency, grouped=grouped),
            "ViewThroughConversions": str(self.view_through),
            "Ctr": ratio(Decimal(self.clicks), Decimal(self.impressions), 100, "%"),
            "AverageCpc": ratio(cost, Decimal(self.clicks)),
            "AverageCpm": ratio(cost, Decimal(self.impressions), 1000),
            "ConversionRate": ratio(conversions, Decimal(self.clicks), 100, "%"),
            "CostPerConversion": ratio(cost, conversions),
            "ReturnOnAdSpend": ratio(revenue, cost),
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
        self, columns: Sequence[str], start: date, end: date, as_of: date | None, format_version: str = FORMAT_VERSION_1
    ) -> list[Cells]:
        """One row per day and distinct values of the requested attribute columns, its statistics summed over the
        truth (whatever the report type: the attribute columns decide the rows, as in the Reporting service)."""
        wanted = frozenset(columns)
        attributes = [c for c in columns if c not in STATISTICS]
        grouped: dict[tuple[str, ...], tuple[Cells, Amounts]] = {}
        for day in daterange(start, end):
            for record in self.truth.records(MICROSOFT, self.account.account_id, day, as_of):
                for cells, part in self._slices(record, wanted):
                    base = {"TimePeriod": day.isoformat(), "AccountId": self.account.account_id, **cells}
                    shown = {c: base.get(c, "") for c in attributes}
                    entry = grouped.setdefault(tuple(shown.values()), (shown, Amounts()))
                    entry[1].add(part)
        return [
            {**cells, **amounts.cells(self.account.currency, format_version)} for cells, amounts in grouped.values()
        ]

    def _slices(self, record: DailyRecord, wanted: frozenset[str]) -> Iterator[tuple[Cells, DailyRecord]]:
        """The record's entity cells, split (exactly) by each breakdown the requested columns name: device,
        location, keyword and search query, network, age group, gender."""
        s = self.structure
        campaign = s.campaign_by_id[record.campaign_id]
        cells: Cells = {
            "AccountName": self.account.name,
            "CampaignId": campaign.campaign_id,
            "CampaignName": campaign.name,
            "CampaignType": campaign.channel_type,
        }
        if record.ad_group_id is not None:
            group = s.ad_group_by_id[record.ad_group_id]
            cells |= {"AdGroupId": group.ad_group_id, "AdGroupName": group.name}
        if record.ad_id is not None:
            ad = s.ad_by_id[record.ad_id]
            cells |= {"AdId": ad.ad_id, "AdTitle": ad.name, "AdType": ad.name.rsplit(" ", 1)[0]}
        parts: list[tuple[Cells, DailyRecord]] = [(cells, record)]
        if "DeviceType" in wanted:
            parts = [
                ({**c, "DeviceType": device}, piece)
                for c, part in parts
                for device, piece in zip(
                    DEVICES, _split(part, DEVICES, self.unit, record.ad_id, record.day), strict=True
                )
            ]
        if wanted & _GEO_COLUMNS:
            country, states = _GEOGRAPHY.get(self.account.time_zone, ("United States", ("California",)))
            parts = [
                ({**c, "Country": country, "State": state, "LocationType": "Physical location"}, piece)
                for c, part in parts
                for state, piece in zip(
                    states, _split(part, states, self.unit, "geo", record.ad_id, record.day), strict=True
                )
            ]
        if wanted & _KEYWORD_COLUMNS and record.ad_group_id is not None:
            parts = [split for c, part in parts for split in self._keywords(c, part, record, wanted)]
        for column, values in (("Network", NETWORKS), ("AgeGroup", AGE_GROUPS), ("Gender", GENDERS)):
            if column in wanted:
                parts = [
                    ({**c, column: value}, piece)
                    for c, part in parts
                    for value, piece in zip(
                        values, _split(part, values, self.unit, column, record.ad_id, record.day), strict=True
                    )
                ]
        yield from parts

    def _keywords(
        self, cells: Cells, part: DailyRecord, record: DailyRecord, wanted: frozenset[str]
    ) -> Iterator[tuple[Cells, DailyRecord]]:
        assert record.ad_group_id is not None
        words = keywords(self.truth.data.seed, self.structure, record.ad_group_id)
        for word, piece in zip(words, _split(part, words, self.unit, "kw", record.ad_id, record.day), strict=True):
            keyword_cells = {
                **cells,
                "KeywordId": word.keyword_id,
                "Keyword": word.text,
                "BidMatchType": word.match_type,
            }
            if "SearchQuery" not in wanted:
                yield keyword_cells, piece
                continue
            queries = [word.text + suffix for suffix in _QUERY_SUFFIXES[:2]]
            for query, bit in zip(
                queries, _split(piece, queries, self.unit, "q", word.keyword_id, record.day), strict=True
            ):
                yield {**keyword_cells, "SearchQuery": query, "DeliveredMatchType": word.match_type}, bit


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
