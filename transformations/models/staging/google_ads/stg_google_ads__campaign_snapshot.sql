with

source as (

    select * from {{ source('google_ads', 'campaign_snapshot') }}

),

renamed as (

    select
        cast(snapshot_date as date) as snapshot_date,
        'google_ads' as channel,
        customer_id as account_id,
        campaign_id,
        campaign_name,
        campaign_status,
        advertising_channel_type as campaign_type,
        bidding_strategy_type,
        budget_id,
        {{ money_from_micros('budget_amount_micros') }} as budget_amount,
        budget_period,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        _loaded_at as loaded_at

    from source

)

select * from renamed
