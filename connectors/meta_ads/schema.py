"""The raw Meta Ads table, declared once (extraction, loading, docs and the dbt source check use it)."""

from __future__ import annotations

import pyarrow as pa

from mdp.schema import TableSpec

MONEY = pa.decimal128(18, 6)

AD_INSIGHTS_COLUMNS: dict[str, tuple[pa.DataType, bool, str]] = {
    # name: (type, nullable, description)
    "date": (pa.date32(), False, "date_start of the daily insight (time_increment=1), account time zone"),
    "account_id": (pa.string(), False, "ad account id, digits only (without the 'act_' prefix)"),
    "account_name": (pa.string(), True, "ad account name"),
    "account_currency": (
        pa.string(),
        True,
        "ad account currency (ISO 4217): the currency of spend and values",
    ),
    "account_timezone": (pa.string(), True, "ad account timezone_name (IANA)"),
    "campaign_id": (pa.string(), False, "campaign id"),
    "campaign_name": (pa.string(), True, "campaign name"),
    "adset_id": (pa.string(), False, "ad set id"),
    "adset_name": (pa.string(), True, "ad set name"),
    "ad_id": (pa.string(), False, "ad id"),
    "ad_name": (pa.string(), True, "ad name"),
    "impressions": (pa.int64(), False, "impressions"),
    "clicks": (pa.int64(), False, "clicks (all)"),
    "spend": (MONEY, False, "spend in the account currency"),
    "reach": (pa.int64(), True, "reach (people; not additive across days)"),
    "actions": (pa.string(), True, "the insights 'actions' list kept whole as JSON ([{action_type, value}])"),
    "action_values": (pa.string(), True, "the insights 'action_values' list kept whole as JSON"),
    "conversions": (pa.float64(), False, "sum of 'actions' over the configured conversion action types"),
    "conversion_value": (pa.float64(), False, "sum of 'action_values' over the configured action types"),
}

AD_INSIGHTS = TableSpec(
    name="raw_meta_ads.ad_insights",
    schema=pa.schema([pa.field(n, t, nullable=null) for n, (t, null, _) in AD_INSIGHTS_COLUMNS.items()]),
    account_column="account_id",
    date_column="date",
    cluster_by=("account_id", "campaign_id"),
    description="Meta Ads daily insights at ad level (one row per day x ad account x campaign x ad set x ad).",
    column_docs={n: doc for n, (_, _, doc) in AD_INSIGHTS_COLUMNS.items()},
)
