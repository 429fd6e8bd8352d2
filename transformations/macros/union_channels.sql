{#- `select` of the same typed fields from each channel's staging model, unioned: `channels` maps a channel
    name to its staging model (the dbt vars built from the registered connectors' `dbt_models`), `fields` is
    a list of (name, kind) pairs (kinds as in mdp_type), `overrides` maps channel -> {field: SQL expression}
    for a channel that has the field under another name or not at all (e.g. 'null'). No channel at all gives
    an empty relation of the same columns. -#}
{% macro union_channels(channels, fields, overrides={}) -%}
    {%- for channel, model_name in channels.items() %}
    select
        {%- for field, kind in fields %}
        {{ mdp_cast(overrides.get(channel, {}).get(field, field), kind) }} as {{ field }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from {{ ref(model_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        {%- for field, kind in fields %}
        cast(null as {{ mdp_type(kind) }}) as {{ field }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    where 1 = 0
    {%- endfor %}
{%- endmacro %}
