{%- set attributes = [('campaign_id', 'string'), ('ad_group_id', 'string'), ('ad_name', 'string'),
                      ('ad_status', 'string'), ('ad_type', 'string'), ('final_url', 'string')] -%}

with

snapshots as (

    {{ channel_union('ad_snapshot') }}

),

{{ scd2_from_snapshots('snapshots', ['ad_id'], attributes | map('first') | list) }}
