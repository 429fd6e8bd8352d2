with

source as (

    select * from {{ source('google_ads', 'device_performance') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'google_ads' as channel,
        customer_id as account_id,
        campaign_id,
        campaign_name,
        device,
        cast(impressions as {{ mdp_type('integer') }}) as impressions,
        cast(clicks as {{ mdp_type('integer') }}) as clicks,
        {{ money_from_micros('cost_micros') }} as spend,
        cast(conversions as {{ mdp_type('float') }}) as conversions,
        {{ to_money('conversions_value') }} as conversion_value,
        _loaded_at as loaded_at

    from source

)

select * from renamed
