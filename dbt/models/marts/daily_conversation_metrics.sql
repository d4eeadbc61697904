{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('day_start', lookback=longest_day()) }}",
    )
}}
-- One row per conversation and local day with at least one message: the day of the
-- conversation's zone (stg_messages.local_timezone, one rule for every mart).
-- Incremental runs rebuild the local days that start inside [min_sent_at - 25 hours,
-- max_sent_at + session gap): every local day that overlaps the window fct_messages rebuilt
-- (a local day lasts at most 25 hours), each from all of its messages, which reach at most
-- 25 hours past that range.

with messages as (
    select *
    from {{ ref('fct_messages') }}
    where not is_system
    {% if is_incremental() %}
        and sent_at >= {{ window_start() }} - {{ longest_day() }}
        and sent_at < {{ rebuild_end() }} + {{ longest_day() }}
    {% endif %}
),

days as (
    select
        conversation_id,
        local_timezone,
        local_date as metric_date,
        cast(local_date as timestamp) at time zone local_timezone as day_start,
        count(*) as message_count,
        count(distinct sender_id) as active_participants,
        cast(sum(case when is_media then 1 else 0 end) as double precision) / count(*)
            as media_share,
        count(distinct language) as language_count,
        string_agg(distinct language, ',' order by language) as languages,
        {{ exact_mean('sentiment_score') }} as mean_sentiment,
        count(sentiment_score) as scored_messages,
        count(reply_seconds) as reply_count,
        percentile_cont(0.5) within group (order by reply_seconds) as median_reply_seconds
    from messages
    group by conversation_id, local_timezone, local_date
)

select *
from days
{% if is_incremental() %}
where day_start >= {{ window_start() }} - {{ longest_day() }} and day_start < {{ rebuild_end() }}
{% endif %}
