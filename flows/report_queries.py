"""The report's SQL, in one place: the marts it reads (transformations/models/marts) and ops.volume_checks.

Tables are named `schema.table` and rendered by the warehouse (`{channel_daily}` etc. are substituted with
quoted names); parameters are positional `?`, which DuckDB and BigQuery both accept.
"""

from __future__ import annotations

MART_CHANNEL_DAILY = "marts.mart_channel_performance_daily"
MART_CAMPAIGN_DAILY = "marts.mart_campaign_performance_daily"
VOLUME_CHECKS = "ops.volume_checks"
MARTS = (MART_CHANNEL_DAILY, MART_CAMPAIGN_DAILY)

# The last day with data (the report covers the `days` days up to it) and the reporting currency.
LAST_DAY = """
select max(date_day), max(reporting_currency)
from {channel_daily}
"""

# Daily spend, revenue (conversion value) and ROAS per channel, in the reporting currency.
CHANNEL_DAILY = """
select date_day, channel, spend_reporting, conversion_value_reporting
from {channel_daily}
where date_day between ? and ?
order by date_day, channel
"""

# Spend and revenue per campaign over the period; ROAS and the rankings are computed in Python.
CAMPAIGN_TOTALS = """
select
    channel,
    account_id,
    max(account_name) as account_name,
    campaign_id,
    max(campaign_name) as campaign_name,
    sum(spend_reporting) as spend,
    sum(conversion_value_reporting) as revenue
from {campaign_daily}
where date_day between ? and ?
group by channel, account_id, campaign_id
"""

# Every check of the most recent monitoring run.
LAST_RUN_CHECKS = """
select connector, account_id, day, metric, observed, baseline, deviation, status, reason, run_id, checked_at
from {volume_checks}
where run_id = (select run_id from {volume_checks} order by checked_at desc limit 1)
order by connector, account_id, day, metric
"""

# The mart columns the queries above read (a unit test checks them against the marts' YAML).
MART_COLUMNS: dict[str, tuple[str, ...]] = {
    MART_CHANNEL_DAILY: (
        "date_day",
        "channel",
        "reporting_currency",
        "spend_reporting",
        "conversion_value_reporting",
    ),
    MART_CAMPAIGN_DAILY: (
        "date_day",
        "channel",
        "account_id",
        "account_name",
        "campaign_id",
        "campaign_name",
        "spend_reporting",
        "conversion_value_reporting",
    ),
}
