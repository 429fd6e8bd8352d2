with

source as (

    select * from {{ source('meta_ads', 'age_gender_insights') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'meta_ads' as channel,
        account_id,
        upper(account_currency) as account_currency,
        campaign_id,
        campaign_name,
        age as age_range,
        gender,
        {{ meta_breakdown_measures() }},
        _loaded_at as loaded_at

    from source

)

select * from renamed
