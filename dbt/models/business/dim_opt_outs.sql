-- One row per time a contact asked a business number to stop: a message that is, whole and
-- normalized (lower case, surrounding spaces and punctuation removed), one of the
-- opt_out_keywords seed's stop words, or a delivery that failed with 131050 (the user stopped
-- marketing messages). Further stop signals before a start word belong to the same opt-out;
-- opted_in_again_at is the first start word after it.

with inbound as (
    select
        message_id,
        customer_id,
        business_number_id,
        sent_at,
        regexp_replace(
            lower(text_clean), '^[[:space:][:punct:]¡¿]+|[[:space:][:punct:]¡¿]+$', '', 'g'
        ) as normalized_text
    from {{ ref('stg_business_messages') }}
    where direction = 'inbound' and text_clean is not null and length(text_clean) <= 40
),

keyword_signals as (
    select
        inbound.customer_id as recipient_id,
        inbound.business_number_id,
        inbound.sent_at as signal_at,
        keywords.action,
        'keyword' as source,
        keywords.keyword,
        keywords.language,
        inbound.message_id as signal_id
    from inbound
    inner join {{ ref('opt_out_keywords') }} as keywords
        on lower(keywords.keyword) = inbound.normalized_text
),

error_signals as (
    select
        recipient_id,
        business_number_id,
        status_at as signal_at,
        'stop' as action,
        'error_131050' as source,
        cast(null as text) as keyword,
        cast(null as text) as language,
        message_id as signal_id
    from {{ ref('stg_message_statuses') }}
    where error_code = 131050 and recipient_id is not null
),

signals as (
    select * from keyword_signals
    union all
    select * from error_signals
),

sequenced as (
    select
        signals.*,
        lag(action) over contact_order as previous_action,
        min(case when action = 'start' then signal_at end) over (
            partition by recipient_id, business_number_id
            order by signal_at desc, action desc, signal_id desc
            rows between unbounded preceding and 1 preceding
        ) as next_start_at
    from signals
    window contact_order as (
        partition by recipient_id, business_number_id order by signal_at, action, signal_id
    )
)

select
    recipient_id,
    business_number_id,
    signal_at as opted_out_at,
    cast(signal_at at time zone {{ business_timezone() }} as date) as opted_out_date,
    source,
    keyword,
    language,
    next_start_at as opted_in_again_at
from sequenced
where action = 'stop' and (previous_action is null or previous_action = 'start')
