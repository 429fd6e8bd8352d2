{#- The channel x account x day x report rows left out of the marts because they cannot be converted into
    the reporting currency: no currency anywhere (not in the report's own rows, the ad performance rows or
    the platform totals of the account; see resolved_report_rows) or no FX rate for it that day. One account
    that cannot be built never fails the build for the others; the run reports these rows as failures, `mdp
    status` lists them and a plain `dbt build` warns (its expression_is_true test). Empty when all was built. -#}
with

candidates as (

    {{ excluded_account_day_candidates() }}

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
