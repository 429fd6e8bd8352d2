{#- The columns every channel's staging model provides, in order, with their kind (see mdp_type).
    int_ad_performance_unioned selects exactly these from each channel. -#}
{% macro ad_performance_fields() -%}
    {{ return([
        ('date_day', 'date'),
        ('channel', 'string'),
        ('account_id', 'string'),
        ('account_name', 'string'),
        ('account_currency', 'string'),
        ('account_timezone', 'string'),
        ('campaign_id', 'string'),
        ('campaign_name', 'string'),
        ('ad_group_id', 'string'),
        ('ad_group_name', 'string'),
        ('ad_id', 'string'),
        ('impressions', 'integer'),
        ('clicks', 'integer'),
        ('spend', 'money'),
        ('conversions', 'float'),
        ('conversion_value', 'money'),
    ]) }}
{%- endmacro %}

{#- The ratio metrics, defined once: each a ratio of two summed base measures (never an average of ratios),
    times `scale` when given. Base measures: impressions, clicks, conversions, spend and conversion_value (money
    in the reporting currency in the marts). Every mart computes them through performance_ratios; the semantic
    layer (models/marts/semantic/ad_performance.yml) defines the same metrics for MetricFlow and BI tools, and
    tests/unit/test_metrics_definitions.py holds the two equal. docs/metrics.md describes them. -#}
{% macro ratio_definitions() -%}
    {{ return([
        {'name': 'ctr', 'numerator': 'clicks', 'denominator': 'impressions'},
        {'name': 'cpc', 'numerator': 'spend', 'denominator': 'clicks'},
        {'name': 'cpa', 'numerator': 'spend', 'denominator': 'conversions'},
        {'name': 'roas', 'numerator': 'conversion_value', 'denominator': 'spend'},
        {'name': 'cpm', 'numerator': 'spend', 'denominator': 'impressions', 'scale': 1000},
        {'name': 'conversion_rate', 'numerator': 'conversions', 'denominator': 'clicks'},
        {'name': 'value_per_conversion', 'numerator': 'conversion_value', 'denominator': 'conversions'},
    ]) }}
{%- endmacro %}

{#- The ratio columns of ratio_definitions from a row's (summed) base measures, as floats; each null when its
    denominator is 0. Pass the summed expressions for aggregated marts. -#}
{% macro performance_ratios(impressions='impressions', clicks='clicks', conversions='conversions',
                            spend='spend_reporting', conversion_value='conversion_value_reporting') -%}
    {%- set measures = {
        'impressions': impressions,
        'clicks': clicks,
        'conversions': conversions,
        'spend': spend,
        'conversion_value': conversion_value,
    } -%}
    {%- for ratio in ratio_definitions() %}
    {%- set numerator = measures[ratio.numerator] if 'scale' not in ratio
        else '(' ~ measures[ratio.numerator] ~ ') * ' ~ ratio.scale %}
    {{ safe_divide(numerator, measures[ratio.denominator]) }} as {{ ratio.name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The additive measures summed over a group, typed: counts as integers, conversions as float, money
    (exact decimal) in the reporting currency and (unless the group mixes accounts: account_currency=false)
    in the account currency. -#}
{% macro summed_measures(account_currency=true) -%}
    cast(sum(impressions) as {{ mdp_type('integer') }}) as impressions,
    cast(sum(clicks) as {{ mdp_type('integer') }}) as clicks,
    cast(sum(conversions) as {{ mdp_type('float') }}) as conversions,
    {%- if account_currency %}
    {{ to_money('sum(spend)') }} as spend,
    {{ to_money('sum(conversion_value)') }} as conversion_value,
    {%- endif %}
    {{ to_money('sum(spend_reporting)') }} as spend_reporting,
    {{ to_money('sum(conversion_value_reporting)') }} as conversion_value_reporting
    {{- passthrough_sums(account_currency) }}
{%- endmacro %}

{#- The columns every channel's platform totals staging model (`stg_<channel>__account_totals`) provides:
    the account's own daily totals, which reconciliation_daily compares the ad-level rows with. -#}
{% macro account_totals_fields() -%}
    {{ return([
        ('date_day', 'date'),
        ('channel', 'string'),
        ('account_id', 'string'),
        ('account_currency', 'string'),
        ('impressions', 'integer'),
        ('clicks', 'integer'),
        ('spend', 'money'),
        ('conversions', 'float'),
        ('conversion_value', 'money'),
    ]) }}
{%- endmacro %}

{#- Every channel's platform totals (its `int_<channel>__account_totals` model) unioned: what
    reconciliation_daily compares with and where int_account_days finds an account's currency when its ad
    performance did not land. -#}
{% macro platform_totals() -%}
    {{ channel_union('account_totals') }}
{%- endmacro %}

{#- reconciliation_daily's joined rows, one row per metric: (platform_value, landed_value, tolerance) in the
    money type (counts fit it exactly). -#}
{% macro reconciled_metrics(relation, metrics, tolerances) -%}
    {%- for metric in metrics %}
    select
        date_day,
        channel,
        account_id,
        account_currency,
        '{{ metric }}' as metric,
        platform_reported,
        cast(platform_{{ metric }} as {{ mdp_type('money') }}) as platform_value,
        cast(landed_{{ metric }} as {{ mdp_type('money') }}) as landed_value,
        cast({{ tolerances[metric] }} as {{ mdp_type('money') }}) as tolerance
    from {{ relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
