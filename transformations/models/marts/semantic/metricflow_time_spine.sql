{#- One row per day, 2020-01-01..2030-12-31: the time spine MetricFlow joins metrics to (dbt's cross-database
    date_spine: DuckDB and BigQuery alike). -#}
with

days as (

    {{ dbt.date_spine('day', "cast('2020-01-01' as date)", "cast('2031-01-01' as date)") }}

)

select cast(date_day as {{ mdp_type('date') }}) as date_day
from days
