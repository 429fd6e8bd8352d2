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
        ('spend', 'float'),
        ('conversions', 'float'),
        ('conversion_value', 'float'),
    ]) }}
{%- endmacro %}

{#- CTR, CPC, CPA and ROAS from (summed) base measures; each null when its denominator is 0.
    ROAS = conversion value / spend (revenue per unit spent), computed from sums: never an average of
    ratios. Pass the summed expressions for aggregated marts. -#}
{% macro performance_ratios(impressions='impressions', clicks='clicks', conversions='conversions',
                            spend='spend_reporting', conversion_value='conversion_value_reporting') -%}
    {{ safe_divide(clicks, impressions) }} as ctr,
    {{ safe_divide(spend, clicks) }} as cpc,
    {{ safe_divide(spend, conversions) }} as cpa,
    {{ safe_divide(conversion_value, spend) }} as roas
{%- endmacro %}
