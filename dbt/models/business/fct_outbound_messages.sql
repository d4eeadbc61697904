-- One row per message the business sent, with how far it got (read > delivered > failed >
-- sent, never backwards whatever order the webhooks came in), what Meta charges for it and
-- whether a customer-service window was open when it went out.

with outbound as (
    select * from {{ ref('int_outbound_messages') }}
),

placed as (
    select message_id, window_number
    from {{ ref('int_conversation_events') }}
    where direction = 'outbound'
),

charged as (
    -- Meta charges only what was delivered: per-message pricing (PMP) each delivered billable
    -- message, conversation-based pricing (CBP) a billable conversation once, on its first
    -- delivered message
    select
        outbound.*,
        case
            when not coalesce(billable, false) or delivered_at is null then false
            when pricing_model = 'CBP' and conversation_id_meta is not null
                then row_number() over (
                    partition by
                        pricing_model,
                        conversation_id_meta,
                        coalesce(billable, false) and delivered_at is not null
                    order by sent_at, message_id
                ) = 1
            else true
        end as is_charged
    from outbound
),

rate_candidates as (
    select
        charged.message_id,
        rates.rate_usd,
        row_number() over (
            partition by charged.message_id
            order by
                case when rates.market = charged.recipient_country then 0 else 1 end,
                rates.effective_from desc
        ) as preference
    from charged
    inner join {{ ref('message_rates') }} as rates
        on rates.category = charged.pricing_category
        and rates.market in (charged.recipient_country, 'default')
        -- rate cards change on UTC dates (Meta bills in UTC): the one UTC day kept on purpose
        and rates.effective_from <= cast(charged.sent_at at time zone 'UTC' as date)
    where charged.is_charged
)

select
    charged.message_id,
    charged.conversation_id,
    charged.recipient_id,
    charged.business_number_id,
    charged.known_from,
    charged.sent_at,
    cast(charged.sent_at at time zone {{ business_timezone() }} as date) as sent_date,
    charged.delivered_at,
    charged.read_at,
    charged.failed_at,
    charged.current_status,
    charged.error_code,
    charged.conversation_id_meta,
    charged.conversation_origin,
    charged.pricing_model,
    charged.pricing_category,
    charged.pricing_type,
    charged.billable,
    charged.is_charged,
    case when charged.is_charged then rate_candidates.rate_usd else 0 end as estimated_cost_usd,
    charged.recipient_country,
    placed.window_number is not null as in_service_window
from charged
left join placed on placed.message_id = charged.message_id
left join rate_candidates
    on rate_candidates.message_id = charged.message_id and rate_candidates.preference = 1
