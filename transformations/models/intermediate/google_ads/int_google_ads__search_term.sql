{#- Google Ads search term rows conformed to the `search_term` union's columns (macro union_fields): the
    stream has no campaign_name, ad_group_name, account_currency (the reports take the account's currency:
    resolved_report_rows). -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    null as campaign_name,
    ad_group_id,
    null as ad_group_name,
    keyword_id,
    search_term,
    keyword_text,
    search_term_status,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    null as account_currency
from {{ ref('stg_google_ads__search_term_performance') }}
