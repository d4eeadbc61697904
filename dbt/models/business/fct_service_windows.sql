-- One row per 24-hour customer-service window of each chat (customer and business number):
-- free-form replies are allowed inside it; outside it only templates may be sent.

with events as (
    select * from {{ ref('int_conversation_events') }}
    where window_number is not null
)

select
    conversation_id || ':' || cast(window_number as varchar) as window_id,
    conversation_id,
    min(case when direction = 'inbound' then customer_id end) as customer_id,
    min(business_number_id) as business_number_id,
    window_number,
    min(case when direction = 'inbound' then sent_at end) as opened_at,
    max(case when direction = 'inbound' then sent_at end) as last_inbound_at,
    max(case when direction = 'inbound' then sent_at end) + interval '24 hours' as closes_at,
    sum(case when direction = 'inbound' then 1 else 0 end) as inbound_messages,
    sum(case when direction = 'outbound' then 1 else 0 end) as outbound_in_window
from events
group by conversation_id, window_number
