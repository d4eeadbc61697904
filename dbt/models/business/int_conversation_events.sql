-- Inbound and outbound messages of each chat (customer and business number) in time order,
-- each inbound numbered by the 24-hour customer-service window it belongs to, and each
-- outbound placed in the window open when it was sent (or outside any window).
-- A window opens with an inbound message when no window is open, and closes 24 h after the
-- last inbound message inside it.

with inbound as (
    select
        message_id,
        conversation_id,
        customer_id,
        business_number_id,
        sent_at,
        lag(sent_at) over (
            partition by conversation_id order by sent_at, message_id
        ) as previous_inbound_at
    from {{ ref('stg_business_messages') }}
    where direction = 'inbound' and not is_system
),

numbered as (
    select
        *,
        sum(
            case
                when previous_inbound_at is null then 1
                when sent_at >= previous_inbound_at + interval '24 hours' then 1
                else 0
            end
        ) over (
            partition by conversation_id order by sent_at, message_id
            rows between unbounded preceding and current row
        ) as window_number
    from inbound
),

events as (
    select
        message_id, conversation_id, customer_id, business_number_id, sent_at,
        'inbound' as direction, window_number, cast(null as text) as current_status
    from numbered
    union all
    select
        message_id, conversation_id, recipient_id as customer_id, business_number_id, sent_at,
        'outbound' as direction, cast(null as bigint) as window_number, current_status
    from {{ ref('int_outbound_messages') }}
    where conversation_id is not null and sent_at is not null
),

placed as (
    -- at equal times the inbound message comes first: a reply in the same second is inside
    select
        events.*,
        max(case when direction = 'inbound' then sent_at end) over running as last_inbound_at,
        max(window_number) over running as open_window_number
    from events
    window running as (
        partition by conversation_id order by sent_at, direction, message_id
        rows between unbounded preceding and current row
    )
)

select
    message_id,
    conversation_id,
    customer_id,
    business_number_id,
    sent_at,
    direction,
    current_status,
    last_inbound_at,
    case
        when last_inbound_at is not null and sent_at < last_inbound_at + interval '24 hours'
            then open_window_number
    end as window_number
from placed
