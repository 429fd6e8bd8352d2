{#- Google Ads device rows conformed to the `device` union's columns (macro union_fields): mapped: device <-
    lower(device), device_detail <- device; the stream has no account_currency (the reports take the
    account's currency: resolved_report_rows). -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    lower(device) as device,
    device as device_detail,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    null as account_currency
from {{ ref('stg_google_ads__device_performance') }}
