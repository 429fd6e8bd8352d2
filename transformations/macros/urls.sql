{#- Parts of a URL column, the same on DuckDB and BigQuery (regular expressions; null when absent, and for a
    value that is not a URL). -#}

{% macro url_parameter(url, name) -%}
    {{ return(adapter.dispatch('url_parameter')(url, name)) }}
{%- endmacro %}

{% macro default__url_parameter(url, name) -%}
    nullif(regexp_extract({{ url }}, '[?&]{{ name }}=([^&#]*)', 1), '')
{%- endmacro %}

{% macro bigquery__url_parameter(url, name) -%}
    nullif(regexp_extract({{ url }}, r'[?&]{{ name }}=([^&#]*)'), '')
{%- endmacro %}

{% macro url_host(url) -%}
    {{ return(adapter.dispatch('url_host')(url)) }}
{%- endmacro %}

{% macro default__url_host(url) -%}
    nullif(regexp_extract({{ url }}, '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]+)', 1), '')
{%- endmacro %}

{% macro bigquery__url_host(url) -%}
    regexp_extract({{ url }}, r'^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]+)')
{%- endmacro %}

{% macro url_path(url) -%}
    {{ return(adapter.dispatch('url_path')(url)) }}
{%- endmacro %}

{% macro default__url_path(url) -%}
    nullif(regexp_extract({{ url }}, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]+(/[^?#]*)', 1), '')
{%- endmacro %}

{% macro bigquery__url_path(url) -%}
    regexp_extract({{ url }}, r'^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]+(/[^?#]*)')
{%- endmacro %}
