with

source as (

    select * from {{ source('meta_ads', 'action_insights') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'meta_ads' as channel,
        account_id,
        campaign_id,
        action_type,
        attribution_window,
        cast(actions as {{ mdp_type('float') }}) as conversions,
        {{ to_money('coalesce(action_value, 0)') }} as conversion_value,
        _loaded_at as loaded_at

    from source

)

select * from renamed
