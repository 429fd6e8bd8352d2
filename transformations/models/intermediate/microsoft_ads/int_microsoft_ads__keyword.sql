{#- Microsoft Advertising keyword rows conformed to the `keyword` union's columns (macro union_fields). -#}
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
    account_currency
from {{ ref('stg_microsoft_ads__keyword_performance') }}
