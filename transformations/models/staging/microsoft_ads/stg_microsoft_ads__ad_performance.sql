with

source as (

    select * from {{ source('microsoft_ads', 'ad_performance') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'microsoft_ads' as channel,
        account_id,
        account_name,
        upper(account_currency) as account_currency,
        account_timezone,
        campaign_id,
        campaign_name,
        ad_group_id,
        ad_group_name,
        ad_id,
        ad_title,
        ad_type,
        cast(impressions as {{ mdp_type('integer') }}) as impressions,
        cast(clicks as {{ mdp_type('integer') }}) as clicks,
        {{ to_money('spend') }} as spend,
        cast(conversions as {{ mdp_type('float') }}) as conversions,
        {{ to_money('revenue') }} as conversion_value,
        _loaded_at as loaded_at{{ passthrough_columns('microsoft_ads') }}  -- noqa: LT02

    from source

)

select * from renamed
