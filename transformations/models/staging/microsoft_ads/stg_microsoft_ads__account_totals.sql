with

source as (

    select * from {{ source('microsoft_ads', 'account_totals') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'microsoft_ads' as channel,
        account_id as account_id,
        upper(account_currency) as account_currency,
        cast(impressions as {{ mdp_type('integer') }}) as impressions,
        cast(clicks as {{ mdp_type('integer') }}) as clicks,
        cast(spend as {{ mdp_type('money') }}) as spend,
        cast(conversions as {{ mdp_type('float') }}) as conversions,
        cast(revenue as {{ mdp_type('money') }}) as conversion_value,
        _loaded_at as loaded_at

    from source

)

select * from renamed
