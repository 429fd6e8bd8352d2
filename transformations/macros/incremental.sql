{#- The config of a mart rebuilt by whole days: insert_overwrite of the date_day partitions on BigQuery
    (clustered by `cluster_by`), delete+insert by date_day elsewhere (DuckDB). Call it at the top of the
    model and filter the model's input with `where date_day >= incremental_window_start()` inside
    is_incremental(). The test target `bigquery_emulator` (profiles.yml) builds no partitions: its
    emulator cannot create partitioned tables, and only runs full builds (insert_overwrite needs both).
    on_schema_change append_new_columns (contracts allow it or fail): a passthrough metric added to pipeline.yaml adds
    its column on the next build, its older days null until a rerun of their range; a removed metric's column stays
    (null from then on) until a full refresh. -#}
{% macro daily_incremental_config(cluster_by=['channel', 'account_id']) -%}
    {%- set on_bigquery = target.type == 'bigquery' -%}
    {%- set partitioned = on_bigquery and target.name != 'bigquery_emulator' -%}
    {{ config(
        materialized='incremental',
        incremental_strategy=('insert_overwrite' if on_bigquery else 'delete+insert'),
        unique_key=(none if on_bigquery else 'date_day'),
        partition_by=({'field': 'date_day', 'data_type': 'date', 'granularity': 'day'} if partitioned else none),
        cluster_by=(cluster_by if on_bigquery else none),
        on_schema_change='append_new_columns',
    ) }}
{%- endmacro %}

{#- The first day a run asked to rebuild (YYYY-MM-DD), or none: var('incremental_start_date') when given (a
    hand-run `dbt build --vars ...`), else the MDP_DBT_INCREMENTAL_START_DATE the flows set. The flows never pass
    it as a var: a var that changes every day changes dbt's vars hash and forces a full re-parse of the project
    on every run. The environment variable is read at execution only (`execute`), so dbt does not record it
    among the parsed files' dependencies either, and partial parsing stays valid from one day to the next. -#}
{% macro incremental_start_date() -%}
    {%- set given = var('incremental_start_date', none) -%}
    {%- if not given and execute -%}
        {%- set given = env_var('MDP_DBT_INCREMENTAL_START_DATE', '') -%}
    {%- endif -%}
    {%- if given and not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', given | string) -%}
        {{ exceptions.raise_compiler_error("incremental_start_date must be YYYY-MM-DD, got '" ~ given ~ "'") }}
    {%- endif -%}
    {{ return(given or none) }}
{%- endmacro %}

{#- First day an incremental run rebuilds: incremental_start_date() when set, else the
    latest day already in the model minus var('incremental_lookback_days') (everything when the model is
    empty). Only call it inside is_incremental().
    A model that takes attributes from an SCD2 `history` model (valid_from per version of an entity of
    `keys`) starts earlier when an entity got its first version inside the window: its earlier days took
    no attributes until then and take its first version now (attributes_on_day), from the entity's first
    day in `facts` on. Snapshots are only ever loaded for recent days, so no other older day changes. -#}
{% macro incremental_window_start(history=none, keys=[], facts=none) -%}
    {%- set start_date = incremental_start_date() -%}
    {%- set lookback_days = var('incremental_lookback_days') | int -%}
    {%- if start_date -%}
        {%- set window_start = "cast('" ~ start_date ~ "' as date)" -%}
    {%- else -%}
        {%- set window_start -%}
        (
            select coalesce(
                cast({{ dbt.dateadd('day', -lookback_days, 'max(date_day)') }} as date),
                cast('1900-01-01' as date)
            )
            from {{ this }}
        )
        {%- endset -%}
    {%- endif -%}
    {%- if history is none -%}
        {{ window_start }}
    {%- else -%}
        {%- set entity = ['channel', 'account_id'] + keys -%}
        (
            select coalesce(least(min(facts.date_day), {{ window_start }}), {{ window_start }})
            from {{ facts }} as facts
            inner join (
                select {{ entity | join(', ') }}
                from {{ ref(history) }}
                group by {{ entity | join(', ') }}
                having min(valid_from) >= {{ window_start }}
            ) as new_entities
                on
                {%- for column in entity %}
                    {{ 'and ' if not loop.first }}facts.{{ column }} = new_entities.{{ column }}
                {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{#- The condition a test of `node_id` runs under: on an incremental run (no --full-refresh), a model
    rebuilt by days (incremental) or a view of daily rows (staging, intermediate) with a date_day column
    is tested on the rebuilt days only - from incremental_start_date(), else its latest day minus
    var('incremental_lookback_days'); the other days are as the last build tested them. none = test
    every row: a --full-refresh build, any other model, or a test with `meta: {every_day: true}` (a rule
    a run can break on days it did not rebuild). -#}
{% macro rebuilt_days_condition(relation, node_id) -%}
    {%- set node = graph.nodes.get(node_id) if node_id else none -%}
    {%- if flags.FULL_REFRESH or node is none or 'date_day' not in node.columns
          or (model.config.get('meta') or {}).get('every_day')
          or node.config.materialized not in ('incremental', 'view') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set start_date = incremental_start_date() -%}
    {%- if start_date -%}
        {{ return("date_day >= cast('" ~ start_date ~ "' as date)") }}
    {%- endif -%}
    {%- set lookback_days = var('incremental_lookback_days') | int -%}
    {{ return("date_day >= (select " ~ dbt.dateadd('day', -lookback_days, 'max(date_day)') ~ " from " ~ relation ~ ")") }}
{%- endmacro %}

{#- dbt's test input (the model, narrowed by a test's `where` config), further narrowed to the rebuilt
    days on incremental runs (rebuilt_days_condition). -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where %}{% do conditions.append('(' ~ where ~ ')') %}{% endif -%}
    {%- set rebuilt = rebuilt_days_condition(relation, model.get('attached_node')) -%}
    {%- if rebuilt %}{% do conditions.append(rebuilt) %}{% endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
