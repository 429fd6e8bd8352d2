with

source as (

    select * from {{ source('meta_ads', 'platform_insights') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'meta_ads' as channel,
        account_id,
        upper(account_currency) as account_currency,
        campaign_id,
        campaign_name,
        publisher_platform,
        platform_position,
        {{ meta_breakdown_measures() }},
        _loaded_at as loaded_at

    from source

)

select * from renamed
