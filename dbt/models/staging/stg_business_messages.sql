-- Webhook messages with their direction (business messaging): who wrote, to whom, when.
-- Chat exports have no business side (direction null) and are left out.
select
    raw.message_id,
    raw.conversation_id,
    raw.business_number_id,
    raw.customer_id,
    raw.direction,
    raw.sent_at,
    raw.message_type,
    coalesce(raw.is_system, false) as is_system,
    cleaned.text_clean
from {{ source('wareader', 'raw_messages') }} as raw
left join {{ source('wareader', 'cleaned_messages') }} as cleaned
    on cleaned.message_id = raw.message_id
where raw.direction in ('inbound', 'outbound')
