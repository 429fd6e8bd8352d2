with

source as (

    select * from {{ source('meta_ads', 'adset_snapshot') }}

),

renamed as (

    select
        cast(snapshot_date as date) as snapshot_date,
        'meta_ads' as channel,
        account_id,
        upper(account_currency) as account_currency,
        id as ad_group_id,
        name as ad_group_name,
        campaign_id,
        status as ad_group_status,
        effective_status as ad_group_effective_status,
        {{ to_money('daily_budget') }} as daily_budget,
        {{ to_money('lifetime_budget') }} as lifetime_budget,
        optimization_goal,
        billing_event,
        targeting_countries,
        _loaded_at as loaded_at

    from source

)

select * from renamed
