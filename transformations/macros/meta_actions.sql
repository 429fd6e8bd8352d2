{#- Meta insights keep `actions` / `action_values` as a JSON list of {"action_type": ..., "value": "..."}. -#}

{#- The summed value of one action type in a JSON actions list; null when the type is absent. -#}
{% macro meta_action_value(json_column, action_type) -%}
    {{ return(adapter.dispatch('meta_action_value')(json_column, action_type)) }}
{%- endmacro %}

{% macro duckdb__meta_action_value(json_column, action_type) -%}
    list_sum(list_transform(
        list_filter(
            json_transform({{ json_column }}, '[{"action_type": "VARCHAR", "value": "VARCHAR"}]'),
            lambda action: action.action_type = '{{ action_type }}'
        ),
        lambda action: try_cast(action.value as double)
    ))
{%- endmacro %}

{% macro bigquery__meta_action_value(json_column, action_type) -%}
    (
        select sum(safe_cast(json_value(action, '$.value') as float64))
        from unnest(json_query_array({{ json_column }}, '$')) as action
        where json_value(action, '$.action_type') = '{{ action_type }}'
    )
{%- endmacro %}

{% macro default__meta_action_value(json_column, action_type) -%}
    {{ exceptions.raise_compiler_error("meta_action_value: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

{#- The conversions (or conversion value) of a JSON actions list by the configured action types:
    var('meta_conversion_action_types') combined by var('meta_conversion_aggregation'):
    `first_match` = the value of the first listed type present on the row; `sum` = all listed types added.
    0 when none is present. -#}
{% macro meta_conversions(json_column) -%}
    {%- set action_types = var('meta_conversion_action_types') -%}
    {%- set aggregation = var('meta_conversion_aggregation', 'first_match') -%}
    {%- if action_types is string -%}
        {%- set action_types = [action_types] -%}
    {%- endif -%}
    {%- if action_types | length == 0 -%}
        {{ exceptions.raise_compiler_error("var meta_conversion_action_types must list at least one action type") }}
    {%- endif -%}
    {%- for action_type in action_types -%}
        {%- if not modules.re.match('^[A-Za-z0-9_.]+$', action_type) -%}
            {{ exceptions.raise_compiler_error("var meta_conversion_action_types: invalid action type '" ~ action_type ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if aggregation == 'first_match' -%}
        coalesce(
            {%- for action_type in action_types %}
            {{ meta_action_value(json_column, action_type) }},
            {%- endfor %}
            0
        )
    {%- elif aggregation == 'sum' -%}
        (
            {%- for action_type in action_types %}
            coalesce({{ meta_action_value(json_column, action_type) }}, 0){{ ' +' if not loop.last }}
            {%- endfor %}
        )
    {%- else -%}
        {{ exceptions.raise_compiler_error("var meta_conversion_aggregation must be first_match or sum, got '" ~ aggregation ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#- The measures of a Meta insights breakdown row, typed: counts, spend, conversions and their value
    recomputed from the raw actions by the configured action types (like stg_meta_ads__ad_insights), and
    reach (people reached in the segment: not additive across segments, days or campaigns). -#}
{% macro meta_breakdown_measures() -%}
    cast(impressions as {{ mdp_type('integer') }}) as impressions,
    cast(clicks as {{ mdp_type('integer') }}) as clicks,
    cast(spend as {{ mdp_type('float') }}) as spend,
    cast({{ meta_conversions('actions') }} as {{ mdp_type('float') }}) as conversions,
    cast({{ meta_conversions('action_values') }} as {{ mdp_type('float') }}) as conversion_value,
    cast(reach as {{ mdp_type('integer') }}) as reach
{%- endmacro %}
