{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('day_start') }}",
    )
}}
-- One row per conversation and UTC day with at least one message.
-- Incremental runs rebuild the days whose start is inside [min_sent_at, max_sent_at + session
-- gap): the window's days and the next day, whose first messages' reply times fct_messages
-- rebuilt with them (macros/window.sql).

with messages as (
    select *
    from {{ ref('fct_messages') }}
    where not is_system
    {% if is_incremental() %}
        and cast(sent_date as timestamp) at time zone 'UTC' >= {{ window_start() }}
        and cast(sent_date as timestamp) at time zone 'UTC' < {{ rebuild_end() }}
    {% endif %}
)

select
    conversation_id,
    sent_date as metric_date,
    cast(sent_date as timestamp) at time zone 'UTC' as day_start,
    count(*) as message_count,
    count(distinct sender_id) as active_participants,
    cast(sum(case when is_media then 1 else 0 end) as double precision) / count(*) as media_share,
    count(distinct language) as language_count,
    string_agg(distinct language, ',' order by language) as languages,
    avg(sentiment_score) as mean_sentiment,
    count(sentiment_score) as scored_messages,
    count(reply_seconds) as reply_count,
    percentile_cont(0.5) within group (order by reply_seconds) as median_reply_seconds
from messages
group by conversation_id, sent_date
