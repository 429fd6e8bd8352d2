{#- LinkedIn creative-days as the shared ad-performance fields (ad_performance_fields()): LinkedIn's campaign
    group is the unified campaign, its campaign the ad group and its creative the ad. -#}

with

creative_days as (

    select * from {{ ref('stg_linkedin_ads__ad_performance') }}

),

conformed as (

    select
        date_day,
        channel,
        account_id,
        account_name,
        account_currency,
        account_timezone,
        campaign_group_id as campaign_id,
        campaign_group_name as campaign_name,
        campaign_id as ad_group_id,
        campaign_name as ad_group_name,
        creative_id as ad_id,
        impressions,
        clicks,
        cost as spend,
        cast(external_website_conversions as {{ mdp_type('float') }}) as conversions,
        conversion_value

    from creative_days

)

select * from conformed
