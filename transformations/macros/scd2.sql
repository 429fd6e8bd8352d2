{#- Type-2 history from daily entity snapshots: one row per version of an entity, a version being a run of
    consecutive snapshots with the same `attributes`. valid_from is the first snapshot_date of the version;
    valid_to the snapshot_date the next version was first seen (exclusive; null for the latest version);
    is_current marks the latest version of an entity still present in its account's latest snapshot.
    Between two snapshots a day without one is assumed unchanged: a change is dated the day it was first
    seen, which is at most one snapshot late. `snapshots` names a CTE with snapshot_date, channel,
    account_id, the `keys` and the `attributes`; the macro continues the caller's `with` list with its
    own CTEs (so call it after "with snapshots as (...),") and ends with the final select. -#}
{% macro scd2_from_snapshots(snapshots, keys, attributes) -%}
    {%- set entity = ['channel', 'account_id'] + keys -%}
    {%- set fingerprint = [] -%}
    {%- for column in attributes -%}
        {%- do fingerprint.append("coalesce(cast(" ~ column ~ " as " ~ mdp_type('string') ~ "), '<null>')") -%}
    {%- endfor %}

fingerprinted as (

    select
        *,
        {{ dbt.hash(dbt.concat(intersperse(fingerprint))) }} as attributes_hash

    from {{ snapshots }}

),

changes as (

    select
        *,
        lag(attributes_hash) over (
            partition by {{ entity | join(', ') }} order by snapshot_date
        ) as previous_hash

    from fingerprinted

),

account_latest as (

    select
        channel,
        account_id,
        max(snapshot_date) as latest_snapshot_date

    from {{ snapshots }}
    group by channel, account_id

),

entity_latest as (

    select
        {{ entity | join(', ') }},
        max(snapshot_date) as last_seen_date

    from {{ snapshots }}
    group by {{ entity | join(', ') }}

),

versions as (

    select
        {{ entity | join(', ') }},
        {{ attributes | join(', ') }},
        snapshot_date as valid_from,
        lead(snapshot_date) over (partition by {{ entity | join(', ') }} order by snapshot_date) as valid_to

    from changes
    where previous_hash is null or previous_hash != attributes_hash

)

select
    {%- set qualified = [] %}
    {%- for column in entity %}{% do qualified.append('versions.' ~ column) %}{% endfor %}
    {{ dbt.hash(dbt.concat(intersperse(qualified + ["cast(versions.valid_from as " ~ mdp_type('string') ~ ")"]))) }}
        as history_key,
    {%- for column in entity %}
    versions.{{ column }},
    {%- endfor %}
    {%- for column in attributes %}
    versions.{{ column }},
    {%- endfor %}
    versions.valid_from,
    versions.valid_to,
    entity_latest.last_seen_date,
    (
        versions.valid_to is null
        and entity_latest.last_seen_date = account_latest.latest_snapshot_date
    ) as is_current

from versions
inner join entity_latest
    on
    {%- for column in entity %}
        {{ 'and ' if not loop.first }}versions.{{ column }} = entity_latest.{{ column }}
    {%- endfor %}
inner join account_latest
    on
        versions.channel = account_latest.channel
        and versions.account_id = account_latest.account_id
{%- endmacro %}

{#- ['a', 'b', 'c'] -> ['a', "'|'", 'b', "'|'", 'c'] for dbt.concat. -#}
{% macro intersperse(columns, separator="'|'") -%}
    {%- set out = [] -%}
    {%- for column in columns -%}
        {%- do out.append(column) -%}
        {%- if not loop.last %}{% do out.append(separator) %}{% endif -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}
