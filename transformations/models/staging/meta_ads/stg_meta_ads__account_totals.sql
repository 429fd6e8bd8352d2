with

source as (

    select * from {{ source('meta_ads', 'account_totals') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'meta_ads' as channel,
        account_id,
        upper(account_currency) as account_currency,
        cast(impressions as {{ mdp_type('integer') }}) as impressions,
        cast(clicks as {{ mdp_type('integer') }}) as clicks,
        {{ to_money('spend') }} as spend,
        -- by the connector's conversion rule (conversion_action_types, conversion_aggregation)
        cast(conversions as {{ mdp_type('float') }}) as conversions,
        {{ to_money('conversion_value') }} as conversion_value,
        _loaded_at as loaded_at

    from source

)

select * from renamed
