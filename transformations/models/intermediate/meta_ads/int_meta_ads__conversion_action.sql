{#- Meta Ads conversion action rows conformed to the `conversion_action` union's columns (macro
    union_fields): mapped: conversion_action_id <- action_type, conversion_action_name <- action_type; the
    stream has no campaign_name, conversion_action_category, all_conversions, account_currency (the reports
    take the account's currency: resolved_report_rows). -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    null as campaign_name,
    action_type as conversion_action_id,
    attribution_window,
    action_type as conversion_action_name,
    null as conversion_action_category,
    conversions,
    conversion_value,
    null as all_conversions,
    null as account_currency
from {{ ref('stg_meta_ads__action_insights') }}
