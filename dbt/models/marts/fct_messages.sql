{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('sent_at') }}",
    )
}}
-- One row per message with its sentiment and, when it answers someone else, its reply time.
-- Incremental runs rebuild the window [min_sent_at, max_sent_at) and the session gap after it,
-- whose reply times read the window's messages (macros/window.sql): they delete those rows,
-- then insert them again.

with messages as (
    select *
    from {{ ref('stg_messages') }}
    where not is_system
    {% if is_incremental() %}
        -- look back one session gap: the message each in-window message may reply to
        and sent_at >= {{ window_start() }} - {{ session_gap() }}
        and sent_at < {{ rebuild_end() }}
    {% endif %}
),

sequenced as (
    select
        messages.*,
        lag(sender_id) over conversation_order as previous_sender_id,
        lag(sent_at) over conversation_order as previous_sent_at
    from messages
    window conversation_order as ({{ conversation_order() }})
),

all_messages as (
    -- system lines are kept (is_system) but take no part in reply times
    select
        message_id, conversation_id, sender_id, sent_at, sent_date, local_timezone, local_date,
        message_type, source, language, language_confidence, is_media, is_system, is_edited,
        reply_to_id, word_count, emoji_count,
        -- the reply definition of fct_replies (macros/sessions.sql)
        case
            when {{ is_reply('previous_sender_id', 'sender_id', 'previous_sent_at', 'sent_at') }}
            then {{ seconds_between('previous_sent_at', 'sent_at') }}
        end as reply_seconds
    from sequenced
    union all
    select
        message_id, conversation_id, sender_id, sent_at, sent_date, local_timezone, local_date,
        message_type, source, language, language_confidence, is_media, is_system, is_edited,
        reply_to_id, word_count, emoji_count,
        cast(null as double precision) as reply_seconds
    from {{ ref('stg_messages') }}
    where is_system
)

select
    all_messages.message_id,
    all_messages.conversation_id,
    all_messages.sender_id,
    all_messages.sent_at,
    all_messages.sent_date,
    all_messages.local_timezone,
    all_messages.local_date,
    all_messages.message_type,
    all_messages.source,
    all_messages.language,
    all_messages.language_confidence,
    all_messages.is_media,
    all_messages.is_system,
    all_messages.is_edited,
    all_messages.reply_to_id,
    all_messages.word_count,
    all_messages.emoji_count,
    sentiment.sentiment_label,
    sentiment.sentiment_score,
    cast(all_messages.reply_seconds as double precision) as reply_seconds
from all_messages
left join {{ ref('stg_message_sentiment') }} as sentiment
    on sentiment.message_id = all_messages.message_id
{% if is_incremental() %}
where all_messages.sent_at >= {{ window_start() }} and all_messages.sent_at < {{ rebuild_end() }}
{% endif %}
