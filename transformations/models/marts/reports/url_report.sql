{#- Performance by landing page: each ad's spend under the final URL it had on the day (dim_ad_history),
    with the URL taken apart (host, path, utm_* parameters). Rows without an ad (Google campaign-level
    spend) or an ad without a known URL fall under '(not set)', so the report adds up to the account.
    Rebuilt by whole days as ad_report is. -#}
{{ daily_incremental_config() }}
-- depends_on: {{ ref('dim_ad_history') }}

with

ads as (

    select * from {{ ref('ad_report') }}

    {% if is_incremental() %}
    where date_day >= {{ incremental_window_start('dim_ad_history', ['ad_id'], ref('ad_report')) }}
    {% endif %}

),

aggregated as (

    select
        date_day,
        channel,
        account_id,
        max(account_name) as account_name,
        campaign_id,
        max(campaign_name) as campaign_name,
        ad_group_id,
        max(ad_group_name) as ad_group_name,
        coalesce(final_url, '(not set)') as final_url,
        account_currency,
        reporting_currency,
        {{ summed_measures() }}

    from ads
    group by
        date_day, channel, account_id, campaign_id, ad_group_id, coalesce(final_url, '(not set)'),
        account_currency, reporting_currency

),

parsed as (

    select
        *,
        {{ dbt.split_part(dbt.split_part('final_url', "'#'", 1), "'?'", 1) }} as base_url,
        {{ url_host('final_url') }} as url_host,
        {{ url_path('final_url') }} as url_path,
        {{ url_parameter('final_url', 'utm_source') }} as utm_source,
        {{ url_parameter('final_url', 'utm_medium') }} as utm_medium,
        {{ url_parameter('final_url', 'utm_campaign') }} as utm_campaign,
        {{ url_parameter('final_url', 'utm_content') }} as utm_content,
        {{ url_parameter('final_url', 'utm_term') }} as utm_term,
        {{ performance_ratios() }}

    from aggregated

)

select * from parsed
