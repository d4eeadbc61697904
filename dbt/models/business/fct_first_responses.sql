-- One row per customer turn: an inbound message that follows a business message, or the
-- chat's first inbound message. The first response is the business's next message that did
-- not fail; business seconds count only the time inside opening hours (int_business_hours),
-- and the SLA (var('first_response_sla_minutes')) is measured in business time.

with sequenced as (
    select
        events.*,
        lag(direction) over (
            partition by conversation_id order by sent_at, direction, message_id
        ) as previous_direction,
        -- the running minimum in reverse order: a frame fixed at the partition's start is
        -- aggregated incrementally on both engines (one "1 following .. unbounded following"
        -- frame per row is quadratic on PostgreSQL)
        min(
            case when direction = 'outbound' and current_status <> 'failed' then sent_at end
        ) over (
            partition by conversation_id order by sent_at desc, direction desc, message_id desc
            rows between unbounded preceding and 1 preceding
        ) as next_response_at
    from {{ ref('int_conversation_events') }} as events
),

turns as (
    select
        message_id as turn_id,
        conversation_id,
        customer_id,
        business_number_id,
        sent_at as turn_started_at,
        next_response_at as first_response_at
    from sequenced
    where direction = 'inbound'
        and (previous_direction is null or previous_direction = 'outbound')
),

business_time as (
    select
        turns.turn_id,
        sum(
            {{ seconds_between(
                'case when hours.opens_at > turns.turn_started_at then hours.opens_at else turns.turn_started_at end',
                'case when hours.closes_at < turns.first_response_at then hours.closes_at else turns.first_response_at end'
            ) }}
        ) as business_seconds
    from turns
    inner join {{ ref('int_business_hours') }} as hours
        on hours.opens_at < turns.first_response_at
        and hours.closes_at > turns.turn_started_at
    group by turns.turn_id
)

select
    turns.turn_id,
    turns.conversation_id,
    turns.customer_id,
    turns.business_number_id,
    turns.turn_started_at,
    cast(turns.turn_started_at at time zone {{ business_timezone() }} as date) as turn_date,
    turns.first_response_at,
    cast(
        {{ seconds_between('turns.turn_started_at', 'turns.first_response_at') }}
        as double precision
    ) as response_seconds,
    case
        when turns.first_response_at is not null
            then cast(coalesce(business_time.business_seconds, 0) as double precision)
    end as business_response_seconds,
    case
        when turns.first_response_at is not null
            then coalesce(business_time.business_seconds, 0)
                <= {{ var('first_response_sla_minutes') }} * 60
    end as sla_met
from turns
left join business_time on business_time.turn_id = turns.turn_id
