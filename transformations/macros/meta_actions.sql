{#- Meta insights keep `actions` / `action_values` as a JSON list of {"action_type": ..., "value": "..."}. -#}

{#- The summed value of one action type in a JSON actions list, as `kind` (float for counts, money for
    values: parsed from Graph's decimal strings straight into a decimal, never through a float); null when
    the type is absent. -#}
{% macro meta_action_value(json_column, action_type, kind='float') -%}
    {{ return(adapter.dispatch('meta_action_value')(json_column, action_type, kind)) }}
{%- endmacro %}

{% macro duckdb__meta_action_value(json_column, action_type, kind='float') -%}
    list_sum(list_transform(
        list_filter(
            json_transform({{ json_column }}, '[{"action_type": "VARCHAR", "value": "VARCHAR"}]'),
            lambda action: action.action_type = '{{ action_type }}'
        ),
        lambda action: try_cast(action.value as {{ mdp_type(kind) }})
    ))
{%- endmacro %}

{% macro bigquery__meta_action_value(json_column, action_type, kind='float') -%}
    (
        select sum({{ 'round(' if kind == 'money' }}safe_cast(json_value(action, '$.value') as {{ mdp_type(kind) }}){{ ', 6)' if kind == 'money' }})
        from unnest(json_query_array({{ json_column }}, '$')) as action
        where json_value(action, '$.action_type') = '{{ action_type }}'
    )
{%- endmacro %}

{% macro default__meta_action_value(json_column, action_type, kind='float') -%}
    {{ exceptions.raise_compiler_error("meta_action_value: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

{#- The conversions (or conversion value) of a JSON actions list by the configured action types:
    var('meta_conversion_action_types') combined by var('meta_conversion_aggregation'):
    `first_match` = the value of the first listed type present on the row; `sum` = all listed types added.
    0 when none is present. Typed as `kind`: float (conversions) or money (conversion value). -#}
{% macro meta_conversions(json_column, kind='float') -%}
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
        {%- set combined -%}
        coalesce(
            {%- for action_type in action_types %}
            {{ meta_action_value(json_column, action_type, kind) }},
            {%- endfor %}
            0
        )
        {%- endset -%}
    {%- elif aggregation == 'sum' -%}
        {%- set combined -%}
        (
            {%- for action_type in action_types %}
            coalesce({{ meta_action_value(json_column, action_type, kind) }}, 0){{ ' +' if not loop.last }}
            {%- endfor %}
        )
        {%- endset -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("var meta_conversion_aggregation must be first_match or sum, got '" ~ aggregation ~ "'") }}
    {%- endif -%}
    {{ mdp_cast(combined, kind) }}
{%- endmacro %}

{#- The measures of a Meta insights breakdown row, typed: counts, spend, conversions and their value
    recomputed from the raw actions by the configured action types (like stg_meta_ads__ad_insights), and
    reach (people reached in the segment: not additive across segments, days or campaigns). -#}
{% macro meta_breakdown_measures() -%}
    cast(impressions as {{ mdp_type('integer') }}) as impressions,
    cast(clicks as {{ mdp_type('integer') }}) as clicks,
    {{ to_money('spend') }} as spend,
    {{ meta_conversions('actions') }} as conversions,
    {{ meta_conversions('action_values', 'money') }} as conversion_value,
    cast(reach as {{ mdp_type('integer') }}) as reach
{%- endmacro %}
