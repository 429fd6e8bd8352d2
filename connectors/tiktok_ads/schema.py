"""The raw TikTok Ads tables, one per report stream, declared once (extraction, loading, docs and the dbt source
check use them)."""

from __future__ import annotations

import pyarrow as pa

from connectors.kit.schema import MONEY, Columns, table_spec
from mdp.schema import TableSpec

_KEYS: Columns = {
    "date": (pa.date32(), False, "stat_time_day of the daily report row, in the advertiser's time zone"),
    "account_id": (pa.string(), False, "advertiser id (advertiser_id, digits)"),
    "account_currency": (
        pa.string(),
        False,
        "advertiser currency (ISO 4217, from advertiser/info): the currency of spend and conversion value",
    ),
    "campaign_id": (pa.string(), False, "campaign id"),
    "campaign_name": (pa.string(), True, "campaign name as it is when the report is read"),
}
_METRICS: Columns = {
    "impressions": (pa.int64(), False, "impressions"),
    "clicks": (pa.int64(), False, "clicks (destination clicks, the report's clicks)"),
    "spend": (MONEY, False, "spend in the account currency (the report's spend)"),
    "conversions": (pa.float64(), False, "conversions (the report's conversion: the optimisation event)"),
    "conversion_value": (
        MONEY,
        False,
        "value of the Complete Payment events in the account currency (total_complete_payment_rate); 0 where "
        "the advertiser tracks no value",
    ),
}


def _table(name: str, columns: Columns, description: str) -> TableSpec:
    return table_spec(f"raw_tiktok_ads.{name}", columns, description=description)


AD_PERFORMANCE = _table(
    "ad_performance",
    {
        **_KEYS,
        "account_name": (pa.string(), True, "advertiser name (advertiser/info name)"),
        "account_timezone": (
            pa.string(),
            True,
            "advertiser time zone (advertiser/info display_timezone, else timezone; IANA)",
        ),
        "ad_group_id": (pa.string(), False, "ad group id (adgroup_id)"),
        "ad_group_name": (pa.string(), True, "ad group name (adgroup_name)"),
        "ad_id": (pa.string(), False, "ad id"),
        "ad_name": (pa.string(), True, "ad name"),
        **_METRICS,
    },
    "TikTok daily ad performance (report/integrated/get, BASIC, AUCTION_AD by ad_id x stat_time_day): one row per "
    "day x advertiser x campaign x ad group x ad.",
)
COUNTRY_PERFORMANCE = _table(
    "country_performance",
    {
        **_KEYS,
        "country_code": (pa.string(), False, "country (ISO 3166-1 alpha-2, the report's country_code)"),
        **_METRICS,
    },
    "TikTok daily campaign performance by country (AUDIENCE report, AUCTION_CAMPAIGN by campaign_id x country_code "
    "x stat_time_day): one row per day x advertiser x campaign x country.",
)
PLACEMENT_PERFORMANCE = _table(
    "placement_performance",
    {
        **_KEYS,
        "placement": (
            pa.string(),
            False,
            "placement (the report's placement: PLACEMENT_TIKTOK, PLACEMENT_PANGLE, ...)",
        ),
        **_METRICS,
    },
    "TikTok daily campaign performance by placement (AUDIENCE report, AUCTION_CAMPAIGN by campaign_id x placement x "
    "stat_time_day): one row per day x advertiser x campaign x placement.",
)
ACCOUNT_TOTALS = _table(
    "account_totals",
    {
        "date": _KEYS["date"],
        "account_id": _KEYS["account_id"],
        "account_currency": (
            pa.string(),
            True,
            "advertiser currency (ISO 4217, from advertiser/info); null on a day the report had no row for",
        ),
        **{
            name: (kind, null, f"{doc}: the advertiser's own total of the day (0 when the report had no row)")
            for name, (kind, null, doc) in _METRICS.items()
        },
    },
    "TikTok daily totals of each advertiser as the API reports them (BASIC, AUCTION_ADVERTISER by advertiser_id x "
    "stat_time_day): one row per day x advertiser, a zero row for a day without activity. The reconciliation "
    "compares ad_performance with them.",
)

REPORT_TABLES: dict[str, TableSpec] = {
    "ad_performance": AD_PERFORMANCE,
    "country_performance": COUNTRY_PERFORMANCE,
    "placement_performance": PLACEMENT_PERFORMANCE,
    "account_totals": ACCOUNT_TOTALS,
}
