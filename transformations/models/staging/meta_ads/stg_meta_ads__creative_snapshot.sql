with

source as (

    select * from {{ source('meta_ads', 'creative_snapshot') }}

),

renamed as (

    select
        cast(snapshot_date as date) as snapshot_date,
        'meta_ads' as channel,
        account_id,
        id as creative_id,
        name as creative_name,
        object_type as creative_object_type,
        link_url,
        url_tags,
        title,
        body,
        _loaded_at as loaded_at

    from source

)

select * from renamed
