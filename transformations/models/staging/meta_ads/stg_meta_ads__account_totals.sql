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
        {{ meta_conversions('actions') }} as conversions,
        {{ meta_conversions('action_values', 'money') }} as conversion_value,
        _loaded_at as loaded_at

    from source

)

select * from renamed
