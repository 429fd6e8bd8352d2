with

source as (

    select * from {{ source('meta_ads', 'campaign_snapshot') }}

),

renamed as (

    select
        cast(snapshot_date as date) as snapshot_date,
        'meta_ads' as channel,
        account_id,
        upper(account_currency) as account_currency,
        id as campaign_id,
        name as campaign_name,
        status as campaign_status,
        effective_status as campaign_effective_status,
        objective as campaign_objective,
        {{ to_money('daily_budget') }} as daily_budget,
        {{ to_money('lifetime_budget') }} as lifetime_budget,
        bid_strategy,
        start_time,
        stop_time,
        created_time,
        updated_time,
        _loaded_at as loaded_at

    from source

)

select * from renamed
