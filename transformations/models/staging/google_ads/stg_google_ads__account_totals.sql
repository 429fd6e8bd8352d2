with

source as (

    select * from {{ source('google_ads', 'account_totals') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'google_ads' as channel,
        customer_id as account_id,
        upper(currency_code) as account_currency,
        cast(impressions as {{ mdp_type('integer') }}) as impressions,
        cast(clicks as {{ mdp_type('integer') }}) as clicks,
        cast(cost_micros as {{ mdp_type('money') }}) / 1000000 as spend,
        cast(conversions as {{ mdp_type('float') }}) as conversions,
        cast(conversions_value as {{ mdp_type('money') }}) as conversion_value,
        _loaded_at as loaded_at

    from source

)

select * from renamed
