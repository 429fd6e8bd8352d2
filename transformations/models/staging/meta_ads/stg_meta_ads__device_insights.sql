with

source as (

    select * from {{ source('meta_ads', 'device_insights') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'meta_ads' as channel,
        account_id,
        upper(account_currency) as account_currency,
        campaign_id,
        campaign_name,
        case
            when device_platform in ('mobile_app', 'mobile_web') then 'mobile'
            when device_platform = 'desktop' then 'desktop'
            else 'other'
        end as device,
        device_platform as device_detail,
        {{ meta_breakdown_measures() }},
        _loaded_at as loaded_at

    from source

)

select * from renamed
