with

source as (

    select * from {{ source('meta_ads', 'ad_insights') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'meta_ads' as channel,
        account_id,
        account_name,
        upper(account_currency) as account_currency,
        account_timezone,
        campaign_id,
        campaign_name,
        adset_id as ad_group_id,
        adset_name as ad_group_name,
        ad_id,
        ad_name,
        cast(impressions as {{ mdp_type('integer') }}) as impressions,
        cast(clicks as {{ mdp_type('integer') }}) as clicks,
        {{ to_money('spend') }} as spend,
        -- by the connector's conversion rule (conversion_action_types, conversion_aggregation)
        cast(conversions as {{ mdp_type('float') }}) as conversions,
        {{ to_money('conversion_value') }} as conversion_value,
        cast(reach as {{ mdp_type('integer') }}) as reach,
        _loaded_at as loaded_at{{ passthrough_columns('meta_ads') }}  -- noqa: LT02

    from source

)

select * from renamed
