with

source as (

    select * from {{ source('meta_ads', 'region_insights') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'meta_ads' as channel,
        account_id,
        upper(account_currency) as account_currency,
        campaign_id,
        campaign_name,
        region as region_name,
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
