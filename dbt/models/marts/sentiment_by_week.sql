-- How the mood changes: per sender, local ISO week (Monday start, in the zone of
-- stg_messages.local_timezone, as activity_heatmap) and scoring method.

with scored as (
    select
        messages.sender_id,
        messages.local_timezone,
        cast(date_trunc('week', messages.local_date) as date) as week_start,
        sentiment.sentiment_method as method,
        sentiment.sentiment_label,
        sentiment.sentiment_score
    from {{ ref('stg_messages') }} as messages
    inner join {{ ref('stg_message_sentiment') }} as sentiment
        on sentiment.message_id = messages.message_id
    where not messages.is_system
        and messages.sender_id is not null
        and sentiment.sentiment_score is not null
)

select
    sender_id,
    local_timezone,
    week_start,
    cast(extract(isoyear from week_start) as integer) as iso_year,
    cast(extract(week from week_start) as integer) as iso_week,
    method,
    count(*) as messages_scored,
    {{ exact_mean('sentiment_score') }} as mean_score,
    sum(case when sentiment_label = 'positive' then 1 else 0 end) as positive,
    sum(case when sentiment_label = 'neutral' then 1 else 0 end) as neutral,
    sum(case when sentiment_label = 'negative' then 1 else 0 end) as negative
from scored
group by sender_id, local_timezone, week_start, method
