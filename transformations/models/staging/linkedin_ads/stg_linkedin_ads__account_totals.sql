with

source as (

    select * from {{ source('linkedin_ads', 'account_totals') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'linkedin_ads' as channel,
        account_id,
        upper(account_currency) as account_currency,
        cast(impressions as {{ mdp_type('integer') }}) as impressions,
        cast(clicks as {{ mdp_type('integer') }}) as clicks,
        {{ to_money('cost_in_local_currency') }} as cost,
        cast(external_website_conversions as {{ mdp_type('integer') }}) as external_website_conversions,
        {{ to_money('conversion_value_in_local_currency') }} as conversion_value,
        _loaded_at as loaded_at

    from source

)

select * from renamed
