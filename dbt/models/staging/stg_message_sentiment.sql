-- One sentiment label and score (-1..1) per text message.
select
    message_id,
    label as sentiment_label,
    score as sentiment_score,
    method as sentiment_method
from {{ source('wareader', 'message_sentiment') }}
