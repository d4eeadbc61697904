{# The one session and reply definition, shared by fct_messages, fct_sessions and fct_replies.
   A session is a conversation's run of messages with no silence longer than the dbt var
   `session_gap_minutes` (default 120). A reply is a message whose previous message in the
   conversation is in the same session and came from another sender. #}
{% macro session_gap() -%}
    interval '{{ var("session_gap_minutes") }} minutes'
{%- endmacro %}

{% macro in_same_session(previous_sent_at, sent_at) -%}
    ({{ previous_sent_at }} is not null and {{ previous_sent_at }} >= {{ sent_at }} - {{ session_gap() }})
{%- endmacro %}

{% macro is_reply(previous_sender_id, sender_id, previous_sent_at, sent_at) -%}
    ({{ previous_sender_id }} is not null
        and {{ sender_id }} is not null
        and {{ previous_sender_id }} <> {{ sender_id }}
        and {{ in_same_session(previous_sent_at, sent_at) }})
{%- endmacro %}

{# The zone of webhook messages' local times: the business number's configured zone,
   WAREADER_BUSINESS_TIMEZONE, else the business marts' dbt var `business_timezone`. #}
{% macro business_timezone() -%}
    '{{ env_var("WAREADER_BUSINESS_TIMEZONE", var("business_timezone", "UTC")) }}'
{%- endmacro %}

{# The zone of a message's local times, for every local day, week, month and hour of every
   mart and report: the zone its export was read in (the exporting phone's, per export with a
   global default), else, for webhooks, the business number's. #}
{% macro local_timezone(export_timezone) -%}
    coalesce({{ export_timezone }}, {{ business_timezone() }})
{%- endmacro %}

{# A conversation's message order: time, then (exports have minutes only) the export's line. #}
{% macro conversation_order() -%}
    partition by conversation_id order by sent_at, coalesce(source_line, 0), message_id
{%- endmacro %}
