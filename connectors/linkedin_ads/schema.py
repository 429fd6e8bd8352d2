"""The raw LinkedIn Ads tables, declared once (extraction, loading, docs and the dbt source check use them)."""

from __future__ import annotations

import pyarrow as pa

from connectors.kit.schema import MONEY, Columns, table_spec
from mdp.schema import TableSpec

_DATE: Columns = {"date": (pa.date32(), False, "day of the analytics row (timeGranularity=DAILY), UTC")}
_ACCOUNT: Columns = {"account_id": (pa.string(), False, "ad account id (digits of urn:li:sponsoredAccount)")}
_METRICS: Columns = {
    "impressions": (pa.int64(), False, "impressions"),
    "clicks": (pa.int64(), False, "clicks"),
    "cost_in_local_currency": (MONEY, False, "spend in the account currency (costInLocalCurrency)"),
    "external_website_conversions": (pa.int64(), False, "website conversions (externalWebsiteConversions)"),
    "conversion_value_in_local_currency": (
        MONEY,
        False,
        "value of the website conversions in the account currency (conversionValueInLocalCurrency)",
    ),
}


def _table(name: str, columns: Columns, description: str, cluster: tuple[str, ...]) -> TableSpec:
    return table_spec(f"raw_linkedin_ads.{name}", columns, cluster_by=cluster, description=description)


AD_PERFORMANCE = _table(
    "ad_performance",
    {
        **_DATE,
        **_ACCOUNT,
        "account_name": (pa.string(), True, "ad account name"),
        "account_currency": (pa.string(), False, "account currency (ISO 4217): the currency of cost and value"),
        "account_timezone": (pa.string(), False, "time zone of the days: always UTC (LinkedIn reports in UTC)"),
        "campaign_group_id": (pa.string(), False, "campaign group id (the unified campaign)"),
        "campaign_group_name": (pa.string(), True, "campaign group name as it is when the day is read"),
        "campaign_id": (pa.string(), False, "campaign id (the unified ad group)"),
        "campaign_name": (pa.string(), True, "campaign name as it is when the day is read"),
        "creative_id": (pa.string(), False, "creative id (digits of urn:li:sponsoredCreative; the unified ad)"),
        "creative_name": (pa.string(), True, "creative name (null when the creative has none)"),
        **_METRICS,
    },
    "LinkedIn Ads daily creative performance (adAnalytics, pivot=CREATIVE, timeGranularity=DAILY): one row per "
    "day (UTC) x account x creative, with its campaign and campaign group.",
    ("account_id", "campaign_group_id"),
)
COUNTRY_PERFORMANCE = _table(
    "country_performance",
    {
        **_DATE,
        **_ACCOUNT,
        "account_currency": (pa.string(), False, "account currency (ISO 4217): the currency of cost and value"),
        "campaign_group_id": (pa.string(), False, "campaign group id (the unified campaign)"),
        "campaign_group_name": (pa.string(), True, "campaign group name as it is when the day is read"),
        "geo_id": (pa.string(), False, "the member country's LinkedIn geo id (digits of urn:li:geo)"),
        "country_code": (pa.string(), True, "ISO 3166-1 alpha-2 code of the country; null when the geo id is unmapped"),
        "country_name": (pa.string(), True, "English name of the country; null when the geo id is unmapped"),
        **_METRICS,
    },
    "LinkedIn Ads daily campaign group performance by member country (adAnalytics q=statistics, "
    "pivots=CAMPAIGN_GROUP,MEMBER_COUNTRY_V2, timeGranularity=DAILY): one row per day (UTC) x account x campaign "
    "group x country. Professional demographics are approximate: the rows may add up to less than the totals.",
    ("account_id", "campaign_group_id"),
)
ACCOUNT_TOTALS = _table(
    "account_totals",
    {
        **_DATE,
        **_ACCOUNT,
        "account_currency": (pa.string(), True, "account currency (ISO 4217); null on a day without activity"),
        **{
            name: (kind, null, f"{doc}: the account's own total of the day (0 when LinkedIn had no row)")
            for name, (kind, null, doc) in _METRICS.items()
        },
    },
    "LinkedIn Ads daily totals of each account as adAnalytics reports them (pivot=ACCOUNT, timeGranularity=DAILY): "
    "one row per day (UTC) x account, a zero row for a day without activity. The reconciliation compares "
    "ad_performance with them.",
    ("account_id",),
)

REPORT_TABLES: dict[str, TableSpec] = {
    "ad_performance": AD_PERFORMANCE,
    "country_performance": COUNTRY_PERFORMANCE,
    "account_totals": ACCOUNT_TOTALS,
}
