{#- Google Ads keyword rows conformed to the `keyword` union's columns (macro union_fields): the stream has
    no account_currency (the reports take the account's currency: resolved_report_rows). -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    ad_group_id,
    ad_group_name,
    keyword_id,
    keyword_text,
    keyword_match_type,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    null as account_currency
from {{ ref('stg_google_ads__keyword_performance') }}
