-- Which emoji each sender uses, as the reader sees them: one row per conversation, sender,
-- emoji and skin tone (a thumbs-up in two tones is one emoji on two rows).

select
    conversation_id,
    sender_id,
    emoji,
    max(emoji_name) as emoji_name,
    skin_tone,
    sum(occurrences) as occurrences,
    count(distinct message_id) as messages,
    min(sent_at) as first_used_at,
    max(sent_at) as last_used_at
from {{ source('wareader', 'message_emoji') }}
where sender_id is not null
group by conversation_id, sender_id, emoji, skin_tone
