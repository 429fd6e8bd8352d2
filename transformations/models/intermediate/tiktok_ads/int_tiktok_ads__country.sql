{#- TikTok's country breakdown conformed to the country report's union columns, in order: TikTok reports ISO
    codes only, so the country name is null. -#}
with

countries as (

    select * from {{ ref('stg_tiktok_ads__country_performance') }}

)

select
    date_day,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    country_code,
    cast(null as {{ mdp_type('string') }}) as country_name,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    account_currency
from countries
