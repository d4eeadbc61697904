{# The time window an incremental model rebuilds, as timestamptz literals (vars min/max_sent_at). #}
{% macro window_start() -%}
    cast('{{ var("min_sent_at") }}' as timestamptz)
{%- endmacro %}

{% macro window_end() -%}
    cast('{{ var("max_sent_at") }}' as timestamptz)
{%- endmacro %}

{# Seconds between two timestamptz values, in both DuckDB and PostgreSQL. #}
{% macro seconds_between(earlier, later) -%}
    extract(epoch from {{ later }}) - extract(epoch from {{ earlier }})
{%- endmacro %}

{# Delete the rows of `column` inside the window, before an incremental run inserts them again. #}
{% macro delete_window(column) -%}
    {% if is_incremental() %}
    delete from {{ this }}
    where {{ column }} >= {{ window_start() }} and {{ column }} < {{ window_end() }}
    {% endif %}
{%- endmacro %}
