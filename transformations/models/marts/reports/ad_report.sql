with

performance as (

    select * from {{ ref('fct_ad_performance_daily') }}

)

{{ attributes_on_day('performance', 'dim_ad_history', ['ad_id'], ['ad_name', 'ad_status', 'ad_type', 'final_url']) }}
