with

source as (

    select * from {{ source('google_ads', 'search_term_performance') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        'google_ads' as channel,
        customer_id as account_id,
        campaign_id,
        ad_group_id,
        criterion_id as keyword_id,
        keyword_text,
        search_term,
        search_term_status,
        cast(impressions as {{ mdp_type('integer') }}) as impressions,
        cast(clicks as {{ mdp_type('integer') }}) as clicks,
        cast(cost_micros as {{ mdp_type('float') }}) / 1000000.0 as spend,
        cast(conversions as {{ mdp_type('float') }}) as conversions,
        cast(conversions_value as {{ mdp_type('float') }}) as conversion_value,
        _loaded_at as loaded_at

    from source

)

select * from renamed
