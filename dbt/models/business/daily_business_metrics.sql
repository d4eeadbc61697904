-- One row per local day of the business number's zone (WAREADER_BUSINESS_TIMEZONE, else
-- var business_timezone; macros/sessions.sql) and business number: traffic, delivery, errors, billable messages and
-- their estimated cost, first-response times and opt-outs. Outbound figures count the
-- messages sent that day (their statuses may come later); response figures count the turns
-- that started that day.

with inbound as (
    select
        cast(sent_at at time zone {{ business_timezone() }} as date) as metric_date,
        business_number_id,
        count(*) as inbound_messages
    from {{ ref('stg_business_messages') }}
    where direction = 'inbound' and not is_system
    group by 1, 2
),

outbound as (
    select
        sent_date as metric_date,
        business_number_id,
        count(*) as outbound_messages,
        sum(case when delivered_at is not null then 1 else 0 end) as delivered_messages,
        sum(case when read_at is not null then 1 else 0 end) as read_messages,
        sum(case when current_status = 'failed' then 1 else 0 end) as failed_messages,
        sum(case when not in_service_window then 1 else 0 end) as outbound_outside_window,
        sum(case when not in_service_window and error_code = 131047 then 1 else 0 end)
            as outside_window_131047_failures,
        sum(case when billable then 1 else 0 end) as billable_messages,
        sum(case when billable and pricing_category = 'marketing' then 1 else 0 end)
            as billable_marketing,
        sum(case when billable and pricing_category = 'utility' then 1 else 0 end)
            as billable_utility,
        sum(case when billable and pricing_category like 'authentication%' then 1 else 0 end)
            as billable_authentication,
        sum(case when billable and pricing_category = 'service' then 1 else 0 end)
            as billable_service,
        {{ exact_sum('estimated_cost_usd') }} as estimated_cost_usd
    from {{ ref('fct_outbound_messages') }}
    where sent_date is not null
    group by 1, 2
),

failures as (
    select
        metric_date,
        business_number_id,
        string_agg(cast(error_code as varchar) || ':' || cast(failed as varchar), ','
            order by error_code) as failed_by_error_code
    from (
        select sent_date as metric_date, business_number_id, error_code, count(*) as failed
        from {{ ref('fct_outbound_messages') }}
        where current_status = 'failed' and error_code is not null
        group by 1, 2, 3
    ) as by_code
    group by 1, 2
),

responses as (
    select
        turn_date as metric_date,
        business_number_id,
        count(*) as customer_turns,
        count(first_response_at) as answered_turns,
        percentile_cont(0.5) within group (order by response_seconds)
            as median_first_response_seconds,
        percentile_cont(0.9) within group (order by response_seconds)
            as p90_first_response_seconds,
        percentile_cont(0.5) within group (order by business_response_seconds)
            as median_business_response_seconds,
        100.0 * sum(case when sla_met then 1 else 0 end) / nullif(count(sla_met), 0)
            as sla_met_pct
    from {{ ref('fct_first_responses') }}
    group by 1, 2
),

opt_outs as (
    select opted_out_date as metric_date, business_number_id, count(*) as opt_outs
    from {{ ref('dim_opt_outs') }}
    group by 1, 2
),

days as (
    select metric_date, business_number_id from inbound
    union
    select metric_date, business_number_id from outbound
    union
    select metric_date, business_number_id from responses
    union
    select metric_date, business_number_id from opt_outs
)

select
    days.metric_date,
    days.business_number_id,
    coalesce(inbound.inbound_messages, 0) as inbound_messages,
    coalesce(outbound.outbound_messages, 0) as outbound_messages,
    100.0 * outbound.delivered_messages / nullif(outbound.outbound_messages, 0) as delivered_pct,
    100.0 * outbound.read_messages / nullif(outbound.outbound_messages, 0) as read_pct,
    coalesce(outbound.failed_messages, 0) as failed_messages,
    failures.failed_by_error_code,
    coalesce(outbound.outbound_outside_window, 0) as outbound_outside_window,
    coalesce(outbound.outside_window_131047_failures, 0) as outside_window_131047_failures,
    coalesce(outbound.billable_messages, 0) as billable_messages,
    coalesce(outbound.billable_marketing, 0) as billable_marketing,
    coalesce(outbound.billable_utility, 0) as billable_utility,
    coalesce(outbound.billable_authentication, 0) as billable_authentication,
    coalesce(outbound.billable_service, 0) as billable_service,
    cast(coalesce(outbound.estimated_cost_usd, 0) as double precision) as estimated_cost_usd,
    coalesce(responses.customer_turns, 0) as customer_turns,
    coalesce(responses.answered_turns, 0) as answered_turns,
    responses.median_first_response_seconds,
    responses.p90_first_response_seconds,
    responses.median_business_response_seconds,
    responses.sla_met_pct,
    coalesce(opt_outs.opt_outs, 0) as opt_outs
from days
left join inbound
    on inbound.metric_date = days.metric_date
    and inbound.business_number_id = days.business_number_id
left join outbound
    on outbound.metric_date = days.metric_date
    and outbound.business_number_id = days.business_number_id
left join failures
    on failures.metric_date = days.metric_date
    and failures.business_number_id = days.business_number_id
left join responses
    on responses.metric_date = days.metric_date
    and responses.business_number_id = days.business_number_id
left join opt_outs
    on opt_outs.metric_date = days.metric_date
    and opt_outs.business_number_id = days.business_number_id
