{%- set attributes = [('campaign_id', 'string'), ('ad_group_name', 'string'), ('ad_group_status', 'string'),
                      ('budget_amount', 'money'), ('cpc_bid', 'money')] -%}

with

snapshots as (

    {{ union_channels(
        var('report_channels')['ad_group_snapshot'],
        [('snapshot_date', 'date'), ('channel', 'string'), ('account_id', 'string'), ('ad_group_id', 'string')]
        + attributes,
        var('channel_field_overrides', {}).get('ad_group_snapshot', {}),
    ) }}

),

{{ scd2_from_snapshots('snapshots', ['ad_group_id'], attributes | map('first') | list) }}
