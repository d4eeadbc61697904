-- Every non-system message with the message before it in its conversation, and its session:
-- the one place sessions and replies are derived (fct_sessions, fct_replies, reply_matrix).

with messages as (
    select message_id, conversation_id, sender_id, sent_at, source_line
    from {{ ref('stg_messages') }}
    where not is_system
),

ordered as (
    select
        messages.*,
        lag(message_id) over conversation_order as previous_message_id,
        lag(sender_id) over conversation_order as previous_sender_id,
        lag(sent_at) over conversation_order as previous_sent_at
    from messages
    window conversation_order as ({{ conversation_order() }})
),

flagged as (
    select
        ordered.*,
        case when {{ in_same_session('previous_sent_at', 'sent_at') }} then 0 else 1 end
            as starts_session,
        {{ is_reply('previous_sender_id', 'sender_id', 'previous_sent_at', 'sent_at') }}
            as is_reply
    from ordered
),

numbered as (
    select
        flagged.*,
        sum(starts_session) over (
            {{ conversation_order() }}
            rows between unbounded preceding and current row
        ) as session_number
    from flagged
)

select
    numbered.*,
    md5(
        conversation_id || ':' || first_value(message_id) over (
            partition by conversation_id, session_number
            order by sent_at, coalesce(source_line, 0), message_id
            rows between unbounded preceding and current row
        )
    ) as session_id
from numbered
