with

source as (

    select * from {{ source('meta_ads', 'device_insights') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'meta_ads' as channel,
        account_id,
        upper(account_currency) as account_currency,
        campaign_id,
        campaign_name,
        case
            when device_platform in ('mobile_app', 'mobile_web') then 'mobile'
            when device_platform = 'desktop' then 'desktop'
            else 'other'
        end as device,
        device_platform as device_detail,
        cast(impressions as {{ mdp_type('integer') }}) as impressions,
        cast(clicks as {{ mdp_type('integer') }}) as clicks,
        cast(spend as {{ mdp_type('float') }}) as spend,
        -- recomputed from the raw actions by the configured action types, like stg_meta_ads__ad_insights
        cast({{ meta_conversions('actions') }} as {{ mdp_type('float') }}) as conversions,
        cast({{ meta_conversions('action_values') }} as {{ mdp_type('float') }}) as conversion_value,
        -- people reached in this segment: not additive across segments, days or campaigns
        cast(reach as {{ mdp_type('integer') }}) as reach,
        _loaded_at as loaded_at

    from source

)

select * from renamed
