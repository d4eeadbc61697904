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

{# A conversation's message order: time, then (exports have minutes only) the export's line. #}
{% macro conversation_order() -%}
    partition by conversation_id order by sent_at, coalesce(source_line, 0), message_id
{%- endmacro %}
