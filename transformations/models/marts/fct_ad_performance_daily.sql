{#- Incremental over the lookback window: each run rebuilds whole days from the latest loaded day minus
    var('incremental_lookback_days') (or from var('incremental_start_date')), replacing those days:
    insert_overwrite of the date partitions on BigQuery, delete+insert by date_day elsewhere (DuckDB). -#}
{{ daily_incremental_config() }}

with

performance as (

    select * from {{ ref('int_ad_performance_converted') }}

    {% if is_incremental() %}
    where date_day >= {{ incremental_window_start() }}
    {% endif %}

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'channel', "'|'", 'account_id', "'|'", 'campaign_id', "'|'", 'ad_group_id', "'|'", 'ad_id', "'|'",
            'cast(date_day as ' ~ mdp_type('string') ~ ')',
        ])) }} as ad_performance_key,
        date_day,
        channel,
        account_id,
        account_name,
        account_currency,
        account_timezone,
        campaign_id,
        campaign_name,
        ad_group_id,
        ad_group_name,
        ad_id,
        impressions,
        clicks,
        conversions,
        spend,
        conversion_value,
        reporting_currency,
        fx_rate,
        spend_reporting,
        conversion_value_reporting,
        {{ performance_ratios() }}{{ passthrough_fact_columns() }}  -- noqa: LT02

    from performance

)

select * from final
