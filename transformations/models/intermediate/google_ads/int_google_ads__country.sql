{#- Google Ads country rows conformed to the `country` union's columns (macro union_fields): the stream has
    no account_currency (the reports take the account's currency: resolved_report_rows). -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    country_code,
    country_name,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    null as account_currency
from {{ ref('stg_google_ads__geo_performance') }}
