"""The warehouse contract: every table's columns, SQL types and meaning.

Each schema is attached to its asset as `dagster/column_schema`, so the UI shows
the columns, and the warehouse IO manager creates and casts tables from it.
Types are spelled so that DuckDB and PostgreSQL both accept them.
"""

from __future__ import annotations

from dagster import TableColumn, TableSchema

TEXT = "text"
TIMESTAMPTZ = "timestamptz"
BOOLEAN = "boolean"
BIGINT = "bigint"
INTEGER = "integer"
DOUBLE = "double precision"
DATE = "date"


# The warehouse schema of the dbt marts. Not `analytics`: the analysts' DuckDB copy is the file
# analytics.duckdb, and DuckDB then reads `analytics.x` as that catalog, not as a schema.
MARTS_SCHEMA = "marts"

# Who may read what. Analysts see the tables below, in the pipeline's schema, and every dbt
# mart; none of them holds a phone number, e-mail address, WhatsApp id or participant name.
# Everything else the pipeline writes (raw_messages, message_statuses, quarantine, media...)
# is the restricted raw layer: absent from the analysts' DuckDB copy, refused to the
# PostgreSQL `analyst` role. A new table is restricted until it is listed here.
# conversation_reports stays restricted: its content is a picture (png_base64), which the
# privacy scan cannot read as text, and everything it draws is in the analyst tables and marts
# already (fct_messages, fct_replies, activity_heatmap, conversation_summaries); recipients
# get it inside their conversation's archive.
ANALYST_TABLES: tuple[str, ...] = (
    "cleaned_messages",
    "message_sentiment",
    "conversation_summaries",
)


def _schema(*columns: tuple[str, str, str]) -> TableSchema:
    return TableSchema(
        columns=[
            TableColumn(name=name, type=type_, description=doc) for name, type_, doc in columns
        ]
    )


RAW_MESSAGES = _schema(
    ("message_id", TEXT, "wamid for webhooks; a stable content hash for chat exports."),
    ("conversation_id", TEXT, "Keyed pseudonym of the chat (business number + customer)."),
    ("source", TEXT, "`webhook` or `export`."),
    ("sender_wa_id", TEXT, "Sender's phone digits or Cloud API user id. Restricted: raw layer."),
    ("sender_name", TEXT, "Sender's profile or export name. Restricted: raw layer."),
    ("sent_at", TIMESTAMPTZ, "When the message was sent, UTC."),
    ("message_type", TEXT, "Cloud API type name, or `deleted` / `media` for exports."),
    ("text", TEXT, "Body, caption or rendered content; newlines kept."),
    ("media_id", TEXT, "Cloud API media id (expires after 7 days)."),
    ("media_mime", TEXT, "MIME type of the attached media."),
    ("reply_to_id", TEXT, "message_id this one replies or reacts to."),
    ("is_system", BOOLEAN, "System line (joins, encryption notice, subject changes...)."),
    ("is_edited", BOOLEAN, "The sender edited the message."),
    ("source_file", TEXT, "Landing-zone key the row was read from."),
    ("location", TEXT, "Where in source_file: a line number or a JSON path."),
    ("conversation_name", TEXT, "Chat title or customer profile name."),
    ("media_filename", TEXT, "File name of the attachment, when known."),
    ("media_sha256", TEXT, "SHA-256 of the attachment, when known."),
    ("media_bytes", BIGINT, "Size of the attachment in bytes, when known."),
    ("export_timezone", TEXT, "IANA zone the export's local times were read in."),
    ("raw_json", TEXT, "The message object as received, for types we do not model."),
    (
        "text_repairs",
        TEXT,
        "What was changed so a warehouse can store the row's text (NUL removed, lone "
        "surrogates replaced by U+FFFD), per column; null when nothing was.",
    ),
    (
        "direction",
        TEXT,
        "`inbound` (a customer wrote it) or `outbound` (the business sent it: echoes, "
        "history); null for chat exports, which have no business side.",
    ),
    ("business_number_id", TEXT, "Cloud API phone_number_id of the business number (webhooks)."),
    (
        "customer_id",
        TEXT,
        "Keyed pseudonym of the chat's customer (sender if inbound, recipient if outbound); "
        "equals cleaned_messages.sender_id of their own messages.",
    ),
    (
        "participant_names",
        TEXT,
        "JSON array of the chat's participants' display names (an export: everyone who writes "
        "in it; webhooks: the profile names of bodies received from 31 days before the message's day "
        "to the look-back after it): the names masked in text. Restricted: raw layer.",
    ),
)

MESSAGE_STATUSES = _schema(
    ("message_id", TEXT, "wamid of the outgoing message."),
    ("status", TEXT, "sent, delivered, read, failed, ..."),
    ("status_at", TIMESTAMPTZ, "When the status happened, UTC."),
    ("recipient_wa_id", TEXT, "Recipient's phone digits or user id. Restricted: raw layer."),
    ("conversation_id", TEXT, "Keyed pseudonym of the chat."),
    ("error_code", INTEGER, "Graph error code of a failed delivery."),
    ("error_title", TEXT, "Graph error title of a failed delivery."),
    ("source_file", TEXT, "Landing-zone key the row was read from."),
    ("location", TEXT, "JSON path inside source_file."),
    ("recipient_id", TEXT, "Keyed pseudonym of the recipient (same id as their sender_id)."),
    ("business_number_id", TEXT, "Cloud API phone_number_id of the sending business number."),
    (
        "recipient_country",
        TEXT,
        "ISO 3166-1 region of the recipient's number, read before pseudonymization; "
        "null for recipients known only by user id.",
    ),
    ("conversation_id_meta", TEXT, "Meta's conversation id (statuses[].conversation.id)."),
    (
        "conversation_origin",
        TEXT,
        "conversation.origin.type: service, marketing, utility, authentication, "
        "referral_conversion...",
    ),
    ("conversation_expires_at", TIMESTAMPTZ, "conversation.expiration_timestamp, UTC."),
    ("pricing_billable", BOOLEAN, "pricing.billable (Meta deprecates it under PMP)."),
    ("pricing_model", TEXT, "pricing.pricing_model: CBP (per conversation) or PMP (per message)."),
    ("pricing_category", TEXT, "pricing.category: service, marketing, utility, authentication..."),
    (
        "pricing_type",
        TEXT,
        "pricing.type (PMP): regular, free_customer_service or free_entry_point.",
    ),
)

API_ERRORS = _schema(
    ("error_key", TEXT, "Identifies the error across re-deliveries (one row per key)."),
    (
        "level",
        TEXT,
        "Where Meta put it: `value` (the account or number), `message`, `status` or `history`.",
    ),
    ("code", INTEGER, "Graph error code (131047 outside the service window, 131050 opted out...)."),
    ("title", TEXT, "Error title."),
    ("message", TEXT, "Error message."),
    ("details", TEXT, "error_data.details: what Meta says went wrong."),
    ("message_id", TEXT, "wamid of the message or status the error is about; null at level value."),
    ("status", TEXT, "The status the error came with (usually failed)."),
    ("business_number_id", TEXT, "Cloud API phone_number_id the error concerns."),
    ("occurred_at", TIMESTAMPTZ, "The message's or status's time, UTC; null at level value."),
    ("landed_at", TIMESTAMPTZ, "When the body carrying the error was received, UTC."),
    ("partition_at", TIMESTAMPTZ, "occurred_at, else landed_at: files the row under a day."),
    ("source_file", TEXT, "Landing-zone key of the body it was first read from."),
    ("location", TEXT, "JSON path inside source_file."),
)

QUARANTINE = _schema(
    ("source_file", TEXT, "Landing-zone key of the rejected input."),
    ("location", TEXT, "Line, JSON path, or `whole file`."),
    ("reason", TEXT, "Why it was rejected, in words."),
    ("excerpt", TEXT, "The start of the offending input."),
    ("landed_at", TIMESTAMPTZ, "When the input reached the landing zone, UTC."),
    (
        "partition_at",
        TIMESTAMPTZ,
        "Files the row under a day: the nearby message's time for a bad export line, "
        "else landed_at (partition key).",
    ),
)

CLEANED_MESSAGES = _schema(
    ("message_id", TEXT, "Same id as raw_messages."),
    ("conversation_id", TEXT, "Keyed pseudonym of the chat."),
    ("sender_id", TEXT, "Keyed pseudonym of the sender; never the phone number."),
    ("sent_at", TIMESTAMPTZ, "When the message was sent, UTC."),
    ("message_type", TEXT, "As in raw_messages."),
    (
        "text_clean",
        TEXT,
        "Text normalized (NFC, never NFKD; direction marks and odd spaces removed) with phone "
        "numbers, e-mails and participants' names (of every chat: everyone seen up to the "
        "message's day) masked as [PHONE], [EMAIL], [NAME]; links kept.",
    ),
    ("text_redacted", TEXT, "text_clean with links masked too, as [URL]: what LLMs are sent."),
    ("language", TEXT, "ISO 639-1 code, or null when it cannot be told."),
    ("language_confidence", DOUBLE, "0..1; fallbacks from the sender's language score low."),
    ("language_method", TEXT, "detected, sender_fallback, conversation_fallback, undetermined."),
    ("is_media", BOOLEAN, "Image, audio, video, document, sticker or unknown media."),
    ("is_system", BOOLEAN, "System line."),
    ("is_edited", BOOLEAN, "The sender edited the message."),
    ("reply_to_id", TEXT, "message_id this one replies or reacts to."),
    ("word_count", INTEGER, "Words by spaCy's tokenizer for the message's language."),
    ("emoji_count", INTEGER, "Emoji, counting a ZWJ or skin-tone sequence once."),
    ("url_count", INTEGER, "Links in the text."),
    ("char_count", INTEGER, "Characters in the text as written, before masking."),
)

MESSAGE_EMOJI = _schema(
    ("message_id", TEXT, "Same id as cleaned_messages."),
    ("conversation_id", TEXT, "Keyed pseudonym of the chat."),
    ("sender_id", TEXT, "Keyed pseudonym of the sender."),
    ("sent_at", TIMESTAMPTZ, "When the message was sent, UTC (partition key)."),
    ("emoji", TEXT, "The emoji as seen: one ZWJ, flag or keycap sequence, skin tone removed."),
    ("emoji_name", TEXT, "Its CLDR short name (thumbs_up), for places that cannot draw it."),
    ("skin_tone", TEXT, "light, medium-light, medium, medium-dark, dark, mixed; null if none."),
    ("occurrences", INTEGER, "How often the message shows it with that tone."),
)

CONVERSATION_REPORTS = _schema(
    ("conversation_id", TEXT, "Keyed pseudonym of the chat."),
    ("period", TEXT, "The month, YYYY-MM."),
    ("period_start", TIMESTAMPTZ, "First instant of the month, UTC (partition key)."),
    ("message_count", INTEGER, "Non-system messages of the conversation that month."),
    ("status", TEXT, "rendered, or skipped: fewer messages than the configured minimum."),
    (
        "input_sha256",
        TEXT,
        "Digest of the month's inputs and the drawing code; unchanged, the PNG is kept.",
    ),
    ("png_sha256", TEXT, "SHA-256 of report.png; an unchanged month gives the same value."),
    ("png_bytes", BIGINT, "Size of report.png."),
    ("png_base64", TEXT, "report.png itself, base64 (the archive's copy comes from here)."),
)

CONVERSATION_ARCHIVES = _schema(
    ("conversation_id", TEXT, "Keyed pseudonym of the chat."),
    ("period", TEXT, "The archived month, YYYY-MM."),
    ("period_start", TIMESTAMPTZ, "First instant of the month, UTC (partition key)."),
    ("uri", TEXT, "Where the zip is stored: s3://... or file://..."),
    ("bytes", BIGINT, "Size of the zip."),
    ("sha256", TEXT, "SHA-256 of the zip's bytes; unchanged data gives the same value."),
    ("content_sha256", TEXT, "SHA-256 of the archive's files, independent of its build time."),
    ("message_count", INTEGER, "Messages in the transcript."),
    ("summary_count", INTEGER, "Day summaries included (0 when summaries were not built)."),
    ("media_count", INTEGER, "Attachments included."),
    ("phone_numbers", TEXT, "`redacted` or `included`."),
    ("built_at", TIMESTAMPTZ, "When these contents were first built (kept across rebuilds)."),
    ("uploaded", BOOLEAN, "This run stored new bytes (false: an identical archive was there)."),
    ("download_url_expires_at", TIMESTAMPTZ, "When the link in the last notice stops working."),
    ("notified_at", TIMESTAMPTZ, "When the e-mail (or, without recipients, a webhook) went out."),
    ("email_status", TEXT, "sent to N, no recipient configured, failed: ..., or not needed."),
    ("webhook_status", TEXT, "delivered N/M, failed receivers, none configured, or not needed."),
)

MESSAGE_SENTIMENT = _schema(
    ("message_id", TEXT, "Same id as cleaned_messages."),
    ("conversation_id", TEXT, "Keyed pseudonym of the chat."),
    ("sent_at", TIMESTAMPTZ, "When the message was sent, UTC (partition key)."),
    ("language", TEXT, "The message's language, as cleaned_messages detected it."),
    ("label", TEXT, "positive, neutral or negative; null when no method could score it."),
    ("score", DOUBLE, "-1 (very negative) .. 1 (very positive); null when unsupported."),
    ("method", TEXT, "vader (English), emoji (emoji lexicon, any language), llm, or unsupported."),
    ("model", TEXT, "The lexicon version or the language model that gave the score."),
    ("provider", TEXT, "LLM provider for method llm, else offline."),
    ("llm_failure", TEXT, "Why the language model gave no verdict, when it fell back offline."),
)

CONVERSATION_SUMMARIES = _schema(
    ("conversation_id", TEXT, "Keyed pseudonym of the chat."),
    ("day", DATE, "The UTC day summarized."),
    ("day_start", TIMESTAMPTZ, "Midnight UTC starting that day (partition key)."),
    ("status", TEXT, "ok, or failed (see failure_reason; summary is then null)."),
    ("summary", TEXT, "What was asked, answered and decided that day."),
    ("topics", TEXT, "JSON array of short topic phrases."),
    ("action_items", TEXT, "JSON array of open requests and promised follow-ups."),
    ("summary_language", TEXT, "ISO 639-1 code the summary was asked for."),
    ("message_count", INTEGER, "Non-system messages of the conversation that day."),
    ("participant_count", INTEGER, "Distinct senders that day."),
    ("languages", TEXT, "JSON array of the day's message languages, most frequent first."),
    ("first_message_at", TIMESTAMPTZ, "First message of the day, UTC."),
    ("last_message_at", TIMESTAMPTZ, "Last message of the day, UTC."),
    ("provider", TEXT, "extractive, openai, anthropic, azure or local."),
    ("model", TEXT, "Model (or Azure deployment) that wrote the summary."),
    ("prompt_version", TEXT, "Version of the prompts in wareader_pipelines/llm/prompts.py."),
    ("input_sha256", TEXT, "SHA-256 of the exact transcript sent (redacted unless configured)."),
    ("chunk_count", INTEGER, "Parts the day was split into to fit the context (1: none)."),
    ("input_tokens", BIGINT, "Input tokens the summary took to produce (cached or not)."),
    ("output_tokens", BIGINT, "Output tokens the summary took to produce."),
    ("cost_usd", DOUBLE, "USD at the configured prices; null when the model has no price."),
    ("api_calls", INTEGER, "Calls this run made for the row (0 when answered from cache)."),
    ("cache_hits", INTEGER, "Answers this run took from the response cache for the row."),
    ("failure_reason", TEXT, "Why there is no summary, for status failed."),
)

MESSAGE_MEDIA = _schema(
    ("message_id", TEXT, "The message the media belongs to (raw_messages.message_id)."),
    ("media_id", TEXT, "Cloud API media id (expires 7 days after the message)."),
    ("conversation_id", TEXT, "Keyed pseudonym of the chat."),
    ("sent_at", TIMESTAMPTZ, "When the message was sent, UTC (partition key)."),
    ("message_type", TEXT, "image, audio, video, document or sticker."),
    ("status", TEXT, "stored, already_stored, expired (never fetched in time) or failed."),
    ("mime_type", TEXT, "MIME type of the media."),
    ("bytes", BIGINT, "Size of the media in bytes."),
    ("sha256", TEXT, "SHA-256 of the bytes, verified against the webhook payload."),
    ("blob_key", TEXT, "Content-addressed key in the blob store: media/sha256/<ab>/<sha256>."),
    ("uri", TEXT, "Where the bytes are: s3://... or file://..."),
    ("error", TEXT, "Why the media is not stored, for expired and failed rows."),
)
