with

source as (

    select * from {{ source('google_ads', 'ad_group_snapshot') }}

),

renamed as (

    select
        cast(snapshot_date as date) as snapshot_date,
        'google_ads' as channel,
        customer_id as account_id,
        campaign_id,
        ad_group_id,
        ad_group_name,
        ad_group_status,
        ad_group_type,
        {{ money_from_micros('cpc_bid_micros') }} as cpc_bid,
        _loaded_at as loaded_at

    from source

)

select * from renamed
