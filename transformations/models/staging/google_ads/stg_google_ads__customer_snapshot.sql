with

source as (

    select * from {{ source('google_ads', 'customer_snapshot') }}

),

renamed as (

    select
        cast(snapshot_date as date) as snapshot_date,
        'google_ads' as channel,
        customer_id as account_id,
        customer_name as account_name,
        upper(currency_code) as account_currency,
        account_timezone,
        status as account_status,
        manager as is_manager,
        _loaded_at as loaded_at

    from source

)

select * from renamed
