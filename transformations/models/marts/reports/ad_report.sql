{#- Rebuilt by whole days (daily_incremental_config); from earlier when an ad got its first history version
    in the window (incremental_window_start). -#}
{{ daily_incremental_config() }}

with

performance as (

    select * from {{ ref('fct_ad_performance_daily') }}

    {% if is_incremental() %}
    where date_day >= {{ incremental_window_start('dim_ad_history', ['ad_id'], ref('fct_ad_performance_daily')) }}
    {% endif %}

)

{{ attributes_on_day('performance', 'dim_ad_history', ['ad_id'], ['ad_name', 'ad_status', 'ad_type', 'final_url']) }}
