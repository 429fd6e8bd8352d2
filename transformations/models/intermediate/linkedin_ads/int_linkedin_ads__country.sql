{#- LinkedIn campaign-group days by member country as the country report's fields (breakdown_report('country'):
    resolved_report_rows, the account currency last): the campaign group is the unified campaign; a geo id
    without a known country keeps a null code. -#}

with

country_days as (

    select * from {{ ref('stg_linkedin_ads__country_performance') }}

),

conformed as (

    select
        date_day,
        channel,
        account_id,
        campaign_group_id as campaign_id,
        campaign_group_name as campaign_name,
        country_code,
        country_name,
        impressions,
        clicks,
        cost as spend,
        cast(external_website_conversions as {{ mdp_type('float') }}) as conversions,
        conversion_value,
        account_currency

    from country_days

)

select * from conformed
