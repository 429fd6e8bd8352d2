{#- Meta Ads age gender rows conformed to the `age_gender` union's columns (macro union_fields). -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    age_range,
    gender,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    account_currency
from {{ ref('stg_meta_ads__age_gender_insights') }}
