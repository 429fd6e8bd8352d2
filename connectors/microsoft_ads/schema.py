"""The raw Microsoft Advertising tables, one per report stream, declared once (extraction, loading, docs and
the dbt source check use them)."""

from __future__ import annotations

import pyarrow as pa

from connectors.kit.schema import MONEY, Columns, table_spec
from mdp.schema import TableSpec

_KEYS: Columns = {
    "date": (pa.date32(), False, "TimePeriod of the daily report row (Aggregation=Daily), account time zone"),
    "account_id": (pa.string(), False, "account id (AccountId, digits)"),
    "account_currency": (
        pa.string(),
        False,
        "account currency (ISO 4217, the report's CurrencyCode, else the account's): the currency of spend and revenue",
    ),
    "campaign_id": (pa.string(), False, "campaign id"),
    "campaign_name": (pa.string(), True, "campaign name as it is when the report is read"),
}
_AD_GROUP: Columns = {
    "ad_group_id": (pa.string(), False, "ad group id"),
    "ad_group_name": (pa.string(), True, "ad group name"),
}
_METRICS: Columns = {
    "impressions": (pa.int64(), False, "impressions"),
    "clicks": (pa.int64(), False, "clicks"),
    "spend": (MONEY, False, "spend in the account currency (the report's Spend)"),
    "conversions": (pa.float64(), False, "conversions (the report's Conversions column)"),
    "revenue": (MONEY, False, "conversion revenue in the account currency (the report's Revenue column)"),
}


def _table(name: str, columns: Columns, description: str) -> TableSpec:
    return table_spec(f"raw_microsoft_ads.{name}", columns, description=description)


AD_PERFORMANCE = _table(
    "ad_performance",
    {
        **_KEYS,
        "account_name": (pa.string(), True, "account name"),
        "account_timezone": (
            pa.string(),
            True,
            "account time zone (IANA, mapped from the account's Microsoft TimeZone; the Microsoft name when unmapped)",
        ),
        **_AD_GROUP,
        "ad_id": (pa.string(), False, "ad id"),
        "ad_title": (pa.string(), True, "ad title (AdTitle)"),
        "ad_type": (pa.string(), True, "ad type (AdType), e.g. Responsive search ad"),
        **_METRICS,
    },
    "Microsoft Advertising daily ad performance (AdPerformanceReport, Aggregation=Daily): one row per day x account "
    "x campaign x ad group x ad.",
)
KEYWORD_PERFORMANCE = _table(
    "keyword_performance",
    {
        **_KEYS,
        **_AD_GROUP,
        "keyword_id": (pa.string(), False, "keyword id"),
        "keyword": (pa.string(), True, "keyword text"),
        "bid_match_type": (pa.string(), True, "the keyword's match type (BidMatchType): Exact, Phrase, Broad"),
        **_METRICS,
    },
    "Microsoft Advertising daily keyword performance (KeywordPerformanceReport): one row per day x account x "
    "campaign x ad group x keyword.",
)
SEARCH_QUERY_PERFORMANCE = _table(
    "search_query_performance",
    {
        **_KEYS,
        **_AD_GROUP,
        "keyword_id": (pa.string(), False, "keyword that matched the query"),
        "keyword": (pa.string(), True, "text of the keyword that matched the query"),
        "search_query": (pa.string(), False, "the search query a user typed"),
        "delivered_match_type": (pa.string(), True, "match type used to deliver the ad (DeliveredMatchType)"),
        **_METRICS,
    },
    "Microsoft Advertising daily search query performance (SearchQueryPerformanceReport): one row per day x "
    "account x campaign x ad group x keyword x search query x delivered match type.",
)
GEOGRAPHIC_PERFORMANCE = _table(
    "geographic_performance",
    {
        **_KEYS,
        "country": (pa.string(), True, "country name as the report writes it (Country)"),
        "country_code": (pa.string(), True, "ISO 3166-1 alpha-2 code of the country; null when not known"),
        "state": (pa.string(), True, "state or region name (State)"),
        "location_type": (pa.string(), True, "physical location or location of interest (LocationType)"),
        **_METRICS,
    },
    "Microsoft Advertising daily geographic performance (GeographicPerformanceReport): one row per day x account "
    "x campaign x country x state x location type.",
)
DEVICE_PERFORMANCE = _table(
    "device_performance",
    {
        **_KEYS,
        "device_type": (pa.string(), False, "device type: Computer, Smartphone, Tablet, Unknown"),
        **_METRICS,
    },
    "Microsoft Advertising daily campaign performance by device (CampaignPerformanceReport with DeviceType): one "
    "row per day x account x campaign x device type.",
)

ACCOUNT_TOTALS = _table(
    "account_totals",
    {
        "date": _KEYS["date"],
        "account_id": _KEYS["account_id"],
        "account_currency": (
            pa.string(),
            True,
            "account currency (ISO 4217, the report's CurrencyCode); null on a day the report had no row for",
        ),
        **{
            name: (kind, null, f"{doc}: the account's own total of the day (0 when the report had no row)")
            for name, (kind, null, doc) in _METRICS.items()
        },
    },
    "Microsoft Advertising daily totals of each account as the Reporting service reports them "
    "(AccountPerformanceReport, Aggregation=Daily): one row per day x account, a zero row for a day without "
    "activity. The reconciliation compares ad_performance with them.",
)

REPORT_TABLES: dict[str, TableSpec] = {
    "ad_performance": AD_PERFORMANCE,
    "keyword_performance": KEYWORD_PERFORMANCE,
    "search_query_performance": SEARCH_QUERY_PERFORMANCE,
    "geographic_performance": GEOGRAPHIC_PERFORMANCE,
    "device_performance": DEVICE_PERFORMANCE,
    "account_totals": ACCOUNT_TOTALS,
}
