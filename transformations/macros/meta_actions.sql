{#- The measures of a Meta insights breakdown row, typed: counts, spend, and the conversions and conversion
    value the connector computed by its conversion rule (connectors/meta_ads/conversions.py: the rule lives
    there only, so dbt and the reconciliation read the same numbers), and reach (people reached in the segment:
    not additive across segments, days or campaigns). -#}
{% macro meta_breakdown_measures() -%}
    cast(impressions as {{ mdp_type('integer') }}) as impressions,
    cast(clicks as {{ mdp_type('integer') }}) as clicks,
    {{ to_money('spend') }} as spend,
    cast(conversions as {{ mdp_type('float') }}) as conversions,
    {{ to_money('conversion_value') }} as conversion_value,
    cast(reach as {{ mdp_type('integer') }}) as reach
{%- endmacro %}
