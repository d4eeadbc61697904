{# The time window an incremental model rebuilds, as timestamptz literals: the environment's
   WAREADER_DBT_MIN_SENT_AT / WAREADER_DBT_MAX_SENT_AT when set (how Dagster passes a run's
   window), else vars min/max_sent_at. #}
{% macro window_start() -%}
    cast('{{ window_bound("min_sent_at") }}' as timestamptz)
{%- endmacro %}

{% macro window_end() -%}
    cast('{{ window_bound("max_sent_at") }}' as timestamptz)
{%- endmacro %}

{# One end of the window. Read from the environment only when the models run (`execute`),
   never while dbt parses them: dbt re-parses the whole project when its --vars change, and
   re-parses the files that read an environment variable when its value changes, so a window
   read either way at parse time would cost every ranged run a full parse (seconds), while
   the parsed project does not depend on the window at all. #}
{% macro window_bound(name) -%}
    {%- if execute -%}
        {{ env_var("WAREADER_DBT_" ~ (name | upper), var(name)) }}
    {%- else -%}
        {{ var(name) }}
    {%- endif -%}
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
