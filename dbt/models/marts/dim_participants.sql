-- One row per sender pseudonym: keyed ids only, never a phone number or a name.
with messages as (
    select * from {{ ref('fct_messages') }}
    where sender_id is not null and not is_system
),

languages as (
    select sender_id, language,
        row_number() over (partition by sender_id order by count(*) desc, language) as rank
    from messages
    where language is not null
    group by sender_id, language
)

select
    messages.sender_id,
    min(messages.sent_at) as first_message_at,
    max(messages.sent_at) as last_message_at,
    count(*) as message_count,
    count(distinct messages.conversation_id) as conversation_count,
    max(languages.language) as primary_language
from messages
left join languages
    on languages.sender_id = messages.sender_id and languages.rank = 1
group by messages.sender_id
