{# The time window an incremental model rebuilds, as timestamptz literals (vars min/max_sent_at). #}
{% macro window_start() -%}
    cast('{{ var("min_sent_at") }}' as timestamptz)
{%- endmacro %}

{% macro window_end() -%}
    cast('{{ var("max_sent_at") }}' as timestamptz)
{%- endmacro %}

{# Where an incremental run's rebuild ends: one session gap (macros/sessions.sql) after the
   window. A message's reply time reads the message before it, which is at most one session gap
   earlier when it counts; so a change on day D (a message added, removed or delivered late)
   changes derived columns only in D and in the session gap after it. Rebuilding day D
   therefore rebuilds [D, D+1 + session gap), and any sequence of day re-runs leaves the
   incremental marts equal to a full refresh (tested in analytics/test_dbt_marts.py). #}
{% macro rebuild_end() -%}
    ({{ window_end() }} + {{ session_gap() }})
{%- endmacro %}

{# Seconds between two timestamptz values, in both DuckDB and PostgreSQL. #}
{% macro seconds_between(earlier, later) -%}
    extract(epoch from {{ later }}) - extract(epoch from {{ earlier }})
{%- endmacro %}

{# Delete the rows of `column` an incremental run rebuilds, [window start - lookback,
   rebuild_end()), before the run inserts them again. #}
{% macro delete_window(column, lookback=none) -%}
    {% if is_incremental() %}
    delete from {{ this }}
    where {{ column }} >= {{ window_start() }}{% if lookback %} - {{ lookback }}{% endif %}
        and {{ column }} < {{ rebuild_end() }}
    {% endif %}
{%- endmacro %}

{# The longest local day: 25 hours, the day a zone leaves summer time. A local day that
   overlaps a UTC window starts at most this long before it. #}
{% macro longest_day() -%}
    interval '25 hours'
{%- endmacro %}
