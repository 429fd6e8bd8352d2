{#- TikTok ad performance conformed to ad_performance_fields(), in order. -#}
with

performance as (

    select * from {{ ref('stg_tiktok_ads__ad_performance') }}

)

select
    date_day,
    channel,
    account_id,
    account_name,
    account_currency,
    account_timezone,
    campaign_id,
    campaign_name,
    ad_group_id,
    ad_group_name,
    ad_id,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value
from performance
