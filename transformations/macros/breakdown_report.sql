{#- A report from the breakdown streams of every channel that has one (channel_union(report): each channel's
    `int_<channel>__<report>` model maps its fields to the report's columns, union_fields). The rows are summed to day x channel x account x
    campaign x `levels` x `dims` (`attributes` describe the grain: their latest value), converted to the
    reporting currency with the account's currency and given CTR/CPC/CPA/ROAS. The currency comes from the
    stream's own rows, else the account's day (int_account_days: ad performance or platform totals), else
    its latest known one (int_accounts): never from another stream alone, so one stream failing for an
    account leaves the others buildable (resolved_report_rows). A row whose account-day has no currency
    anywhere, or no FX rate, is left out and listed in excluded_account_days. A null dimension becomes
    '(not set)' so that the report's key is never null; a stream without entity names (Google search terms
    and conversion actions, Meta actions) takes them from the campaign dimension or the ad performance fact. -#}
{% macro breakdown_report(report, dims, levels=[], attributes=[], measures=none) -%}
    {%- set base = [('date_day', 'date'), ('channel', 'string'), ('account_id', 'string'),
                    ('campaign_id', 'string'), ('campaign_name', 'string')] -%}
    {%- set level_fields = [] -%}
    {%- for level in levels -%}
        {%- do level_fields.extend([(level ~ '_id', 'string'), (level ~ '_name', 'string')]) -%}
    {%- endfor -%}
    {%- set metrics = measures or [('impressions', 'integer'), ('clicks', 'integer'), ('spend', 'money'),
                                    ('conversions', 'float'), ('conversion_value', 'money')] -%}
    {%- set grain = ['date_day', 'channel', 'account_id', 'campaign_id'] -%}
    {%- for level in levels %}{% do grain.append(level ~ '_id') %}{% endfor -%}
    {%- for dim, kind in dims %}{% do grain.append(dim) %}{% endfor -%}

with

resolved as (

    {{ resolved_report_rows(report, base + level_fields + dims + attributes + metrics) }}

),

converted as (

    select
        resolved.*,
        '{{ var("reporting_currency") | upper }}' as reporting_currency,
        {%- if 'spend' in metrics | map('first') | list %}
        {{ converted('resolved.spend', 'resolved') }} as spend_reporting,
        {%- endif %}
        {{ converted('resolved.conversion_value', 'resolved') }} as conversion_value_reporting

    from resolved
    {{ fx_joins('resolved') }}
    where {{ fx_available('resolved') }}

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


{#- The rows of a report's union (channel_union) with `columns` (account_currency and account_name excluded:
    they are resolved here) plus the account's currency and name: the currency from the stream's own rows (a
    channel whose stream lacks it selects null in its int_<channel>__<report> model), else
    from the account's day in int_account_days, else the latest known (int_accounts); the name from the day,
    else the latest known. A select statement. -#}
{% macro resolved_report_rows(report, columns) -%}
    {%- set own = [] -%}
    {%- for column in columns if column[0] not in ('account_currency', 'account_name') -%}
        {%- do own.append(column) -%}
    {%- endfor -%}
    select
        {%- for field, kind in own %}
        unioned.{{ field }},
        {%- endfor %}
        coalesce(unioned.account_currency, account_days.account_currency, accounts.account_currency)
            as account_currency,
        coalesce(account_days.account_name, accounts.account_name) as account_name

    from (
        {{ channel_union(report) }}
    ) as unioned
    left join {{ ref('int_account_days') }} as account_days
        on
            unioned.channel = account_days.channel
            and unioned.account_id = account_days.account_id
            and unioned.date_day = account_days.date_day
    left join {{ ref('int_accounts') }} as accounts
        on
            unioned.channel = accounts.channel
            and unioned.account_id = accounts.account_id
{%- endmacro %}

{#- The breakdown reports: every union with a channel model but ad performance, the platform totals and the
    snapshots. -#}
{% macro breakdown_reports() -%}
    {%- set reports = [] -%}
    {%- for report in project_channel_models() -%}
        {%- if report not in ('ad_performance', 'account_totals') and not report.endswith('_snapshot')
              and channel_models(report) -%}
            {%- do reports.append(report) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(reports) }}
{%- endmacro %}

{#- Every channel x account x day x report with the account's currency as the marts resolve it: the ad
    performance rows (their own currency) and each breakdown report's (resolved_report_rows). What
    excluded_account_days checks for a currency and an FX rate. -#}
{% macro excluded_account_day_candidates() -%}
    {%- set base = [('date_day', 'date'), ('channel', 'string'), ('account_id', 'string')] -%}
    select distinct
        'ad_performance' as report,
        date_day,
        channel,
        account_id,
        account_currency
    from {{ ref('int_ad_performance_unioned') }}
    {%- for report in breakdown_reports() %}
    union all
    select distinct
        '{{ report }}' as report,
        date_day,
        channel,
        account_id,
        account_currency
    from ({{ resolved_report_rows(report, base) }}) as {{ report }}_rows
    {%- endfor %}
{%- endmacro %}
