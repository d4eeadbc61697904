-- One row per message, analyst columns only: no phone numbers, no names, no raw text.
select
    cleaned.message_id,
    cleaned.conversation_id,
    cleaned.sender_id,
    cleaned.sent_at,
    cast(cleaned.sent_at at time zone 'UTC' as date) as sent_date,
    cleaned.message_type,
    raw.source,
    cleaned.language,
    cleaned.language_confidence,
    coalesce(cleaned.is_media, false) as is_media,
    coalesce(cleaned.is_system, false) as is_system,
    coalesce(cleaned.is_edited, false) as is_edited,
    cleaned.reply_to_id,
    cleaned.word_count,
    cleaned.emoji_count,
    -- an export's line number: the order of messages sent in the same minute
    case when raw.location like 'line %' then cast(substr(raw.location, 6) as bigint) end
        as source_line,
    -- local time, the one rule of every local day, week, month and hour (macros/sessions.sql):
    -- the zone the export was read in, or the business number's for webhooks
    {{ local_timezone('raw.export_timezone') }} as local_timezone,
    cast(cleaned.sent_at at time zone {{ local_timezone('raw.export_timezone') }} as date)
        as local_date
from {{ source('wareader', 'cleaned_messages') }} as cleaned
left join {{ source('wareader', 'raw_messages') }} as raw
    on raw.message_id = cleaned.message_id
