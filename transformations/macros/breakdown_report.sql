{#- A report from the breakdown streams of every channel that has one (var('report_channels')[report]:
    channel -> staging model; a channel maps a field it names differently, or lacks, through
    var('channel_field_overrides')[report][channel]). The rows are summed to day x channel x account x
    campaign x `levels` x `dims` (`attributes` describe the grain: their latest value), converted to the reporting currency with the account's currency (from
    the ad performance stream, dim_accounts), and given CTR/CPC/CPA/ROAS. A null dimension
    becomes '(not set)' so that the report's key is never null; a stream without entity names (Google
    search terms and conversion actions, Meta actions) takes them from the ad performance fact. -#}
{% macro breakdown_report(report, dims, levels=[], attributes=[], measures=none) -%}
    {%- set base = [('date_day', 'date'), ('channel', 'string'), ('account_id', 'string'),
                    ('campaign_id', 'string'), ('campaign_name', 'string')] -%}
    {%- set level_fields = [] -%}
    {%- for level in levels -%}
        {%- do level_fields.extend([(level ~ '_id', 'string'), (level ~ '_name', 'string')]) -%}
    {%- endfor -%}
    {%- set metrics = measures or [('impressions', 'integer'), ('clicks', 'integer'), ('spend', 'money'),
                                    ('conversions', 'float'), ('conversion_value', 'money')] -%}
    {%- set overrides = var('channel_field_overrides', {}).get(report, {}) -%}
    {%- set grain = ['date_day', 'channel', 'account_id', 'campaign_id'] -%}
    {%- for level in levels %}{% do grain.append(level ~ '_id') %}{% endfor -%}
    {%- for dim, kind in dims %}{% do grain.append(dim) %}{% endfor -%}

with

unioned as (

    {{ union_channels(var('report_channels').get(report, {}), base + level_fields + dims + attributes + metrics, overrides) }}

),

accounts as (

    select channel, account_id, account_name, account_currency from {{ ref('dim_accounts') }}

),

with_currency as (

    select
        unioned.*,
        accounts.account_name,
        accounts.account_currency

    from unioned
    left join accounts
        on
            unioned.channel = accounts.channel
            and unioned.account_id = accounts.account_id

),

converted as (

    select
        with_currency.*,
        '{{ var("reporting_currency") | upper }}' as reporting_currency,
        {%- if 'spend' in metrics | map('first') | list %}
        {{ converted('with_currency.spend', 'with_currency') }} as spend_reporting,
        {%- endif %}
        {{ converted('with_currency.conversion_value', 'with_currency') }} as conversion_value_reporting

    from with_currency
    {{ fx_joins('with_currency') }}

),

aggregated as (

    select
        date_day,
        channel,
        account_id,
        max(account_name) as account_name,
        campaign_id,
        max(campaign_name) as campaign_name,
        {%- for level in levels %}
        {{ level }}_id,
        max({{ level }}_name) as {{ level }}_name,
        {%- endfor %}
        {%- for dim, kind in dims %}
        coalesce({{ dim }}, '(not set)') as {{ dim }},
        {%- endfor %}
        {%- for attribute, kind in attributes %}
        max({{ attribute }}) as {{ attribute }},
        {%- endfor %}
        account_currency,
        reporting_currency,
        {%- for metric, kind in metrics %}
        {{ mdp_cast('sum(' ~ metric ~ ')', kind) }} as {{ metric }},
        {%- endfor %}
        {%- if 'spend' in metrics | map('first') | list %}
        {{ to_money('sum(spend_reporting)') }} as spend_reporting,
        {%- endif %}
        {{ to_money('sum(conversion_value_reporting)') }} as conversion_value_reporting

    from converted
    group by
        date_day, channel, account_id, campaign_id,
        {%- for level in levels %} {{ level }}_id,{% endfor %}
        {%- for dim, kind in dims %} coalesce({{ dim }}, '(not set)'),{% endfor %}
        account_currency, reporting_currency

),

campaign_names as (

    select
        channel,
        account_id,
        campaign_id,
        campaign_name
    from {{ ref('dim_campaigns') }}

),
{%- for level in levels %}

{{ level }}_names as (

    select
        channel,
        account_id,
        {{ level }}_id,
        max({{ level }}_name) as {{ level }}_name
    from {{ ref('fct_ad_performance_daily') }} as performance
    where exists (
        select 1
        from aggregated
        where
            aggregated.channel = performance.channel
            and aggregated.account_id = performance.account_id
            and aggregated.{{ level }}_id = performance.{{ level }}_id
    )
    group by channel, account_id, {{ level }}_id

),
{%- endfor %}

named as (

    select
        aggregated.date_day,
        aggregated.channel,
        aggregated.account_id,
        aggregated.account_name,
        aggregated.campaign_id,
        coalesce(aggregated.campaign_name, campaign_names.campaign_name) as campaign_name,
        {%- for level in levels %}
        aggregated.{{ level }}_id,
        coalesce(aggregated.{{ level }}_name, {{ level }}_names.{{ level }}_name) as {{ level }}_name,
        {%- endfor %}
        {%- for column, kind in dims + attributes %}
        aggregated.{{ column }},
        {%- endfor %}
        aggregated.account_currency,
        aggregated.reporting_currency,
        {%- for metric, kind in metrics %}
        aggregated.{{ metric }},
        {%- endfor %}
        {%- if 'spend' in metrics | map('first') | list %}
        aggregated.spend_reporting,
        {%- endif %}
        aggregated.conversion_value_reporting

    from aggregated
    left join campaign_names
        on
            aggregated.channel = campaign_names.channel
            and aggregated.account_id = campaign_names.account_id
            and aggregated.campaign_id = campaign_names.campaign_id
    {%- for level in levels %}
    left join {{ level }}_names
        on
            aggregated.channel = {{ level }}_names.channel
            and aggregated.account_id = {{ level }}_names.account_id
            and aggregated.{{ level }}_id = {{ level }}_names.{{ level }}_id
    {%- endfor %}

)

select
    *
    {%- if 'spend' in metrics | map('first') | list %},
    {{ performance_ratios() }}
    {%- endif %}
from named
{%- endmacro %}
