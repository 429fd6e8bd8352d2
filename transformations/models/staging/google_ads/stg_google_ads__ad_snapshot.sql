with

source as (

    select * from {{ source('google_ads', 'ad_snapshot') }}

),

renamed as (

    select
        cast(snapshot_date as date) as snapshot_date,
        'google_ads' as channel,
        customer_id as account_id,
        campaign_id,
        ad_group_id,
        ad_id,
        ad_name,
        ad_status,
        ad_type,
        final_url,
        final_urls,
        _loaded_at as loaded_at

    from source

)

select * from renamed
