"""The raw Google Ads table, declared once (extraction, loading, docs and the dbt source check use it)."""

from __future__ import annotations

import pyarrow as pa

from mdp.schema import TableSpec

AD_PERFORMANCE_COLUMNS: dict[str, tuple[pa.DataType, bool, str]] = {
    # name: (type, nullable, description)
    "date": (pa.date32(), False, "segments.date: the day, in the account's time zone"),
    "customer_id": (pa.string(), False, "customer.id: the Google Ads account (10 digits, no dashes)"),
    "customer_name": (pa.string(), True, "customer.descriptive_name"),
    "currency_code": (pa.string(), True, "customer.currency_code (ISO 4217): the currency of cost and value"),
    "time_zone": (pa.string(), True, "customer.time_zone (IANA)"),
    "campaign_id": (pa.string(), False, "campaign.id"),
    "campaign_name": (pa.string(), True, "campaign.name"),
    "campaign_status": (pa.string(), True, "campaign.status (ENABLED, PAUSED, REMOVED)"),
    "campaign_channel_type": (
        pa.string(),
        True,
        "campaign.advertising_channel_type (SEARCH, PERFORMANCE_MAX, ...)",
    ),
    "ad_group_id": (pa.string(), True, "ad_group.id; null on campaign-level rows"),
    "ad_group_name": (pa.string(), True, "ad_group.name; null on campaign-level rows"),
    "ad_id": (pa.string(), True, "ad_group_ad.ad.id; null on campaign-level rows"),
    "row_level": (
        pa.string(),
        False,
        "'ad' for ad_group_ad rows; 'campaign' for spend a campaign carries without ad rows "
        "(Performance Max and similar), so that cost sums to the account total",
    ),
    "impressions": (pa.int64(), False, "metrics.impressions"),
    "clicks": (pa.int64(), False, "metrics.clicks"),
    "cost_micros": (pa.int64(), False, "metrics.cost_micros: cost in millionths of the account currency"),
    "conversions": (pa.float64(), False, "metrics.conversions (restated as conversions arrive late)"),
    "conversions_value": (pa.float64(), False, "metrics.conversions_value, in the account currency"),
    "view_through_conversions": (pa.int64(), False, "metrics.view_through_conversions"),
}

AD_PERFORMANCE = TableSpec(
    name="raw_google_ads.ad_performance",
    schema=pa.schema([pa.field(n, t, nullable=null) for n, (t, null, _) in AD_PERFORMANCE_COLUMNS.items()]),
    account_column="customer_id",
    date_column="date",
    cluster_by=("customer_id", "campaign_id"),
    description="Google Ads daily performance per account, campaign, ad group and ad (one row per "
    "day x customer x campaign x ad group x ad, plus campaign-level rows for spend without ads).",
    column_docs={n: doc for n, (_, _, doc) in AD_PERFORMANCE_COLUMNS.items()},
)
