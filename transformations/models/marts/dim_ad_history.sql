{%- set attributes = [('campaign_id', 'string'), ('ad_group_id', 'string'), ('ad_name', 'string'),
                      ('ad_status', 'string'), ('ad_type', 'string'), ('final_url', 'string')] -%}

with

snapshots as (

    {{ union_channels(
        var('report_channels')['ad_snapshot'],
        [('snapshot_date', 'date'), ('channel', 'string'), ('account_id', 'string'), ('ad_id', 'string')]
        + attributes,
        var('channel_field_overrides', {}).get('ad_snapshot', {}),
    ) }}

),

{{ scd2_from_snapshots('snapshots', ['ad_id'], attributes | map('first') | list) }}
