-- One row per outbound message id: echoes and history messages the business sent, and every
-- id known only from its statuses (API sends reach us only as statuses). Every status of an
-- id is in view here, whatever day its webhook landed, so the order they came in is irrelevant.

with statuses as (
    select * from {{ ref('stg_message_statuses') }}
),

status_summary as (
    select
        message_id,
        min(status_at) as first_status_at,
        min(case when status = 'sent' then status_at end) as sent_status_at,
        min(case when status = 'delivered' then status_at end) as delivered_status_at,
        min(case when status = 'read' then status_at end) as read_at,
        min(case when status = 'failed' then status_at end) as failed_at,
        -- the furthest step reached: read > delivered > failed > sent, whatever came last
        max(case status
            when 'read' then 4 when 'delivered' then 3 when 'failed' then 2 when 'sent' then 1
            else 0 end) as furthest_step,
        min(case when status = 'failed' then error_code end) as error_code,
        min(recipient_id) as recipient_id,
        min(conversation_id) as conversation_id,
        min(business_number_id) as business_number_id,
        min(recipient_country) as recipient_country,
        min(conversation_id_meta) as conversation_id_meta,
        min(conversation_origin) as conversation_origin,
        min(pricing_model) as pricing_model,
        min(pricing_category) as pricing_category,
        min(pricing_type) as pricing_type,
        max(case when pricing_billable then 1 when not pricing_billable then 0 end)
            as pricing_billable_flag
    from statuses
    group by message_id
),

sent_messages as (
    select message_id, conversation_id, customer_id, business_number_id, sent_at
    from {{ ref('stg_business_messages') }}
    where direction = 'outbound'
),

inbound_ids as (
    select message_id from {{ ref('stg_business_messages') }} where direction = 'inbound'
),

outbound_ids as (
    select message_id from sent_messages
    union
    select status_summary.message_id
    from status_summary
    left join inbound_ids on inbound_ids.message_id = status_summary.message_id
    where inbound_ids.message_id is null
)

select
    outbound_ids.message_id,
    coalesce(sent_messages.conversation_id, status_summary.conversation_id) as conversation_id,
    coalesce(status_summary.recipient_id, sent_messages.customer_id) as recipient_id,
    coalesce(sent_messages.business_number_id, status_summary.business_number_id)
        as business_number_id,
    case when sent_messages.message_id is null then 'statuses' else 'message' end as known_from,
    coalesce(sent_messages.sent_at, status_summary.sent_status_at, status_summary.first_status_at)
        as sent_at,
    -- no `delivered` is sent when a message is delivered and read at once: read implies it
    case
        when status_summary.delivered_status_at is null then status_summary.read_at
        when status_summary.read_at is null then status_summary.delivered_status_at
        when status_summary.read_at < status_summary.delivered_status_at
            then status_summary.read_at
        else status_summary.delivered_status_at
    end as delivered_at,
    status_summary.read_at,
    status_summary.failed_at,
    case coalesce(status_summary.furthest_step, 0)
        when 4 then 'read'
        when 3 then 'delivered'
        when 2 then 'failed'
        when 1 then 'sent'
        else 'unknown'
    end as current_status,
    status_summary.error_code,
    status_summary.conversation_id_meta,
    status_summary.conversation_origin,
    status_summary.pricing_model,
    status_summary.pricing_category,
    status_summary.pricing_type,
    case
        when status_summary.pricing_billable_flag is not null
            then status_summary.pricing_billable_flag = 1
        when status_summary.pricing_type is not null
            then status_summary.pricing_type = 'regular'
    end as billable,
    status_summary.recipient_country
from outbound_ids
left join sent_messages on sent_messages.message_id = outbound_ids.message_id
left join status_summary on status_summary.message_id = outbound_ids.message_id
