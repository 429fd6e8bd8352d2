{#- Meta Ads ad snapshot rows conformed to the `ad_snapshot` union's columns (macro union_fields). -#}
{{ config(materialized='ephemeral') }}

select
    snapshot_date,
    channel,
    account_id,
    ad_id,
    campaign_id,
    ad_group_id,
    ad_name,
    ad_status,
    ad_type,
    final_url
from {{ ref('int_meta_ads__ad_snapshot_urls') }}
