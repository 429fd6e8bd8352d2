{#- `select` of the same typed fields from each of `models` (a channel's `int_<channel>__<union>` models:
    macro channel_models), unioned: `fields` is a list of (name, kind) pairs (kinds as in mdp_type), which
    every model selects by name; with `passthrough` (the ad performance union) each model also gives every
    passthrough metric (macros/passthrough.sql), from its raw columns or null. No model at all gives an empty
    relation of the same columns. -#}
{% macro union_channels(models, fields, passthrough=false) -%}
    {%- for model_name in models %}
    select
        {%- for field, kind in fields %}
        {{ mdp_cast(field, kind) }} as {{ field }}
        {{- ',' if not loop.last }}
        {%- endfor %}
        {%- if passthrough %}{{ passthrough_select(model_name) }}{% endif %}
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
        {%- if passthrough %}{{ passthrough_nulls() }}{% endif %}
    where 1 = 0
    {%- endfor %}
{%- endmacro %}
