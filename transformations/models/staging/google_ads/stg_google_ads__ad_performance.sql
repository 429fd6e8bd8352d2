with

source as (

    select * from {{ source('google_ads', 'ad_performance') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'google_ads' as channel,
        customer_id as account_id,
        customer_name as account_name,
        upper(currency_code) as account_currency,
        account_timezone,
        campaign_id,
        campaign_name,
        campaign_status,
        campaign_channel_type as campaign_type,
        -- campaign-level rows (Performance Max spend without ads) get a placeholder key so the grain
        -- stays non-null and the spend reaches the marts
        coalesce(ad_group_id, '{{ var("missing_level_key") }}') as ad_group_id,
        coalesce(ad_group_name, '{{ var("missing_level_key") }}') as ad_group_name,
        coalesce(ad_id, '{{ var("missing_level_key") }}') as ad_id,
        row_level,
        cast(impressions as {{ mdp_type('integer') }}) as impressions,
        cast(clicks as {{ mdp_type('integer') }}) as clicks,
        {{ money_from_micros('cost_micros') }} as spend,
        cast(conversions as {{ mdp_type('float') }}) as conversions,
        {{ to_money('conversions_value') }} as conversion_value,
        _loaded_at as loaded_at{{ passthrough_columns('google_ads') }}  -- noqa: LT02

    from source

)

select * from renamed
