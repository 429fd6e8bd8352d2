with

source as (

    select * from {{ source('google_ads', 'conversion_action_performance') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'google_ads' as channel,
        customer_id as account_id,
        campaign_id,
        conversion_action_id,
        conversion_action_name,
        conversion_action_category,
        cast(conversions as {{ mdp_type('float') }}) as conversions,
        {{ to_money('conversions_value') }} as conversion_value,
        cast(all_conversions as {{ mdp_type('float') }}) as all_conversions,
        {{ to_money('all_conversions_value') }} as all_conversion_value,
        _loaded_at as loaded_at

    from source

)

select * from renamed
