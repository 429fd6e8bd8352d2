{#- Google Ads conversion action rows conformed to the `conversion_action` union's columns (macro
    union_fields): mapped: attribution_window <- 'default'; the stream has no campaign_name,
    account_currency (the reports take the account's currency: resolved_report_rows). -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    null as campaign_name,
    conversion_action_id,
    'default' as attribution_window,
    conversion_action_name,
    conversion_action_category,
    conversions,
    conversion_value,
    all_conversions,
    null as account_currency
from {{ ref('stg_google_ads__conversion_action_performance') }}
