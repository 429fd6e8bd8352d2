{#- Microsoft Advertising search term rows conformed to the `search_term` union's columns (macro
    union_fields): the stream has no search_term_status. -#}
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
    search_term,
    keyword_text,
    null as search_term_status,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    account_currency
from {{ ref('stg_microsoft_ads__search_query_performance') }}
