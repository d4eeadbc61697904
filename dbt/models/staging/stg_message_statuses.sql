-- Delivery statuses without the recipient's number: pseudonym, country, conversation, pricing.
select
    message_id,
    status,
    status_at,
    recipient_id,
    conversation_id,
    business_number_id,
    recipient_country,
    error_code,
    conversation_id_meta,
    conversation_origin,
    conversation_expires_at,
    pricing_billable,
    pricing_model,
    pricing_category,
    pricing_type
from {{ source('wareader', 'message_statuses') }}
