-- Who answers whom and how fast: one row per conversation and (from, to) pair of fct_replies.

select
    conversation_id,
    from_id,
    to_id,
    count(*) as replies,
    percentile_cont(0.5) within group (order by reply_seconds) as median_seconds,
    percentile_cont(0.9) within group (order by reply_seconds) as p90_seconds
from {{ ref('fct_replies') }}
group by conversation_id, from_id, to_id
