"""The report's SQL, in one place: the marts it reads (transformations/models/marts, reconciliation_daily
included, and the forecast step's marts.forecast_daily) and ops.volume_checks.

Tables are named `schema.table` and rendered by the warehouse (`{channel_daily}` etc. are substituted with
quoted names); parameters are positional `?`, which DuckDB and BigQuery both accept.
"""

from __future__ import annotations

from flows.reconcile import RECONCILIATION as RECONCILIATION  # the table the run flow reconciles with

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

# The period's sums per channel (ratios are computed from these sums in Python, never averaged) and each
# channel's own last day with data (its immature days count back from it).
CHANNEL_TOTALS = """
select
    channel,
    sum(spend_reporting) as spend,
    sum(conversion_value_reporting) as revenue,
    sum(clicks) as clicks,
    sum(impressions) as impressions,
    sum(conversions) as conversions,
    max(date_day) as last_day
from {channel_daily}
where date_day between ? and ?
group by channel
order by channel
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

# The breakdown views an analyst opens first: (key, title, report table, label expression, filter), each
# ranked by spend (conversions for actions) over the period; a report that is not built is left out.
BREAKDOWNS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "keywords",
        "Top keywords",
        "marts.keyword_report",
        "keyword_text || ' [' || lower(keyword_match_type) || ']'",
        "true",
    ),
    ("search_terms", "Top search terms", "marts.search_term_report", "search_term", "true"),
    ("countries", "Spend by country", "marts.country_report", "country_code", "true"),
    ("devices", "Spend by device", "marts.device_report", "device", "true"),
    (
        "placements",
        "Meta spend by platform and placement",
        "marts.platform_report",
        "publisher_platform || ' / ' || platform_position",
        "true",
    ),
    (
        "conversion_actions",
        "Conversions by action (default attribution)",
        "marts.conversions_by_action_report",
        "conversion_action_name",
        "attribution_window = 'default'",
    ),
)
BREAKDOWN_ROWS = 10

# One breakdown over the period: label, channel and the summed measures ({table}, {label}, {where} filled
# in from BREAKDOWNS). Reports without spend (conversions by action) rank by conversions.
BREAKDOWN = """
select
    {label} as label,
    channel,
    {spend} as spend,
    sum(conversion_value_reporting) as revenue,
    {clicks} as clicks,
    sum(conversions) as conversions
from {table}
where date_day between ? and ? and {where}
group by 1, 2
order by {rank} desc, 1, 2
limit {limit}
"""

# Every check of the most recent monitoring run.
LAST_RUN_CHECKS = """
select connector, account_id, day, metric, observed, baseline, deviation, status, reason, run_id, checked_at
from {volume_checks}
where run_id = (select run_id from {volume_checks} order by checked_at desc limit 1)
order by connector, account_id, day, metric
"""

# Each channel's latest daily spend forecast (channel grain): mean and 80% / 95% intervals, in the reporting
# currency; NULL values where the history was too short (status insufficient_history).
CHANNEL_FORECAST = """
with latest as (
    select channel, max(as_of) as as_of
    from {forecast}
    where grain = 'channel'
    group by channel
)
select
    f.channel,
    f.as_of,
    f.date_day,
    f.status,
    f.spend,
    f.spend_lo80,
    f.spend_hi80,
    f.spend_lo95,
    f.spend_hi95
from {forecast} as f
inner join latest as l on f.channel = l.channel and f.as_of = l.as_of
where f.grain = 'channel'
order by f.channel, f.date_day
"""

# Daily spend per channel (the fan charts' actual line), between two days.
CHANNEL_SPEND = """
select channel, date_day, spend_reporting
from {channel_daily}
where date_day between ? and ?
order by channel, date_day
"""

# The last day reconciled (the window when the performance marts are empty).
RECONCILIATION_LAST_DAY = """
select max(date_day)
from {reconciliation}
"""

# Account-days per channel and account currency over the period: an account-day (channel x account x day)
# is unchecked when no platform total was loaded for it (all its metrics are), mismatched when any metric is
# outside its tolerance; the spend difference (landed - platform) is summed over the checked days.
RECONCILIATION_CHANNELS = """
with account_days as (
    select
        channel,
        account_id,
        date_day,
        max(account_currency) as account_currency,
        max(case when verdict = 'mismatch' then 1 else 0 end) as mismatched,
        max(case when verdict = 'unchecked' then 1 else 0 end) as unchecked,
        sum(case when metric = 'spend' then difference end) as spend_difference
    from {reconciliation}
    where date_day between ? and ?
    group by channel, account_id, date_day
)
select
    channel,
    account_currency,
    count(*) as account_days,
    sum(mismatched) as mismatched,
    sum(unchecked) as unchecked,
    sum(spend_difference) as spend_difference
from account_days
group by channel, account_currency
order by channel, account_currency
"""

# Every mismatched metric of the period, worst first: by the absolute spend difference of its account-day
# (in the account currency), the spend row first within an account-day, then by its own absolute difference.
RECONCILIATION_MISMATCHES = """
select
    m.channel,
    m.account_id,
    m.date_day,
    m.metric,
    m.account_currency,
    m.platform_value,
    m.landed_value,
    m.difference,
    m.tolerance
from {reconciliation} as m
left join {reconciliation} as s
    on
        s.channel = m.channel
        and s.account_id = m.account_id
        and s.date_day = m.date_day
        and s.metric = 'spend'
where m.verdict = 'mismatch' and m.date_day between ? and ?
order by
    coalesce(abs(s.difference), 0) desc,
    case when m.metric = 'spend' then 0 else 1 end,
    abs(m.difference) desc,
    m.channel,
    m.account_id,
    m.date_day,
    m.metric
"""

# The mart columns the queries above read (a unit test checks them against the marts' YAML).
MART_COLUMNS: dict[str, tuple[str, ...]] = {
    MART_CHANNEL_DAILY: (
        "date_day",
        "channel",
        "reporting_currency",
        "spend_reporting",
        "conversion_value_reporting",
        "clicks",
        "impressions",
        "conversions",
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

# The reconciliation_daily columns the queries above read (tests/integration/monitoring/test_report.py checks
# them against the model's YAML).
RECONCILIATION_COLUMNS = (
    "date_day",
    "channel",
    "account_id",
    "account_currency",
    "metric",
    "platform_value",
    "landed_value",
    "difference",
    "tolerance",
    "verdict",
)
