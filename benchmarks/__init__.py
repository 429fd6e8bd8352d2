"""Benchmarks: loader throughput against dlt and raw DuckDB, end to end on the sandbox, dbt full vs incremental.

Run with `python -m benchmarks [loader|e2e|dbt|all]`; results go to docs/benchmarks.md.
"""
