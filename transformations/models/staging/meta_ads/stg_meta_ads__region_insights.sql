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
        {{ meta_breakdown_measures() }},
        _loaded_at as loaded_at

    from source

)

select * from renamed
