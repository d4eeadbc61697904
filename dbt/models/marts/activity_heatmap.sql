-- When a conversation is active, in its local time: messages per local month, ISO weekday and
-- hour of the zone in `local_timezone` (the exporting phone's zone, or the business number's
-- for webhooks). Sum over month_start for the whole history; the monthly report reads a month.

with messages as (
    select
        conversation_id,
        sender_id,
        local_timezone,
        cast(date_trunc('month', local_date) as date) as month_start,
        sent_at at time zone local_timezone as local_sent_at
    from {{ ref('stg_messages') }}
    where not is_system
),

placed as (
    select
        conversation_id,
        sender_id,
        local_timezone,
        month_start,
        cast(extract(isodow from local_sent_at) as integer) as local_weekday,
        cast(extract(hour from local_sent_at) as integer) as local_hour
    from messages
)

select
    conversation_id,
    local_timezone,
    month_start,
    local_weekday,
    local_hour,
    count(*) as messages,
    count(distinct sender_id) as participants
from placed
group by conversation_id, local_timezone, month_start, local_weekday, local_hour
