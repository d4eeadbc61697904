-- One row per conversation: when it was active, how big it is, where it came from.
with messages as (
    select * from {{ ref('fct_messages') }}
),

languages as (
    select conversation_id, language, count(*) as messages,
        row_number() over (
            partition by conversation_id order by count(*) desc, language
        ) as rank
    from messages
    where language is not null and not is_system
    group by conversation_id, language
)

select
    messages.conversation_id,
    min(messages.sent_at) as first_message_at,
    max(messages.sent_at) as last_message_at,
    count(*) filter (where not messages.is_system) as message_count,
    count(distinct messages.sender_id) filter (where not messages.is_system) as participant_count,
    count(distinct messages.local_date) as active_days,
    max(languages.language) as primary_language,
    string_agg(distinct messages.source, ',' order by messages.source) as sources
from messages
left join languages
    on languages.conversation_id = messages.conversation_id and languages.rank = 1
group by messages.conversation_id
