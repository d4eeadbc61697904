-- One row per session: a conversation's run of messages without a silence longer than
-- `session_gap_minutes`. Rebuilt whole (a table): a late message can join two sessions.

with turns as (
    select * from {{ ref('int_message_sessions') }}
),

starters as (
    select session_id, sender_id as starter_id
    from turns
    where starts_session = 1
)

select
    turns.session_id,
    turns.conversation_id,
    min(turns.session_number) as session_number,
    min(turns.sent_at) as started_at,
    max(turns.sent_at) as ended_at,
    {{ seconds_between('min(turns.sent_at)', 'max(turns.sent_at)') }} as duration_seconds,
    max(starters.starter_id) as starter_id,
    count(*) as messages,
    count(distinct turns.sender_id) as participants,
    sum(case when turns.is_reply then 1 else 0 end) as replies
from turns
left join starters on starters.session_id = turns.session_id
group by turns.session_id, turns.conversation_id
