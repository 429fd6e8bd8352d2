with

source as (

    select * from {{ source('meta_ads', 'ad_snapshot') }}

),

renamed as (

    select
        cast(snapshot_date as date) as snapshot_date,
        'meta_ads' as channel,
        account_id,
        id as ad_id,
        name as ad_name,
        adset_id as ad_group_id,
        campaign_id,
        status as ad_status,
        effective_status as ad_effective_status,
        creative_id,
        _loaded_at as loaded_at

    from source

)

select * from renamed
