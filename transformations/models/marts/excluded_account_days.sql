{#- The channel x account x day x report rows left out of the marts because they cannot be converted into
    the reporting currency: no currency anywhere (not in the report's own rows, the ad performance rows or
    the platform totals of the account; see resolved_report_rows) or no FX rate for it that day. One account
    that cannot be built never fails the build for the others; the run reports these rows as failures, `mdp
    status` lists them and the test no_excluded_account_days warns. Empty when everything was built. -#}
{%- set reports = breakdown_reports() -%}
{%- set base = [('date_day', 'date'), ('channel', 'string'), ('account_id', 'string')] -%}

with

candidates as (

    select distinct
        'ad_performance' as report,
        date_day,
        channel,
        account_id,
        account_currency
    from {{ ref('int_ad_performance_unioned') }}
    {%- for report in reports %}

    union all

    select distinct
        '{{ report }}' as report,
        date_day,
        channel,
        account_id,
        account_currency
    from ({{ resolved_report_rows(report, base) }}) as {{ report }}_rows
    {%- endfor %}

),

checked as (

    select
        candidates.report,
        candidates.date_day,
        candidates.channel,
        candidates.account_id,
        candidates.account_currency,
        {{ fx_exclusion_reason('candidates') }} as reason

    from candidates
    {{ fx_joins('candidates') }}

),

final as (

    select
        date_day,
        channel,
        account_id,
        report,
        account_currency,
        reason

    from checked
    where reason is not null

)

select * from final
