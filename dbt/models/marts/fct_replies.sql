-- One row per reply: a message by another sender than the previous message of the same
-- session. fct_messages.reply_seconds holds the same seconds for the same messages.

select
    message_id,
    session_id,
    conversation_id,
    sender_id as from_id,
    previous_sender_id as to_id,
    previous_message_id as replied_to_message_id,
    sent_at,
    cast({{ seconds_between('previous_sent_at', 'sent_at') }} as double precision) as reply_seconds
from {{ ref('int_message_sessions') }}
where is_reply
