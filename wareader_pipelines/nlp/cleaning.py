"""`cleaned_messages`: the analyst-facing message table, built from `raw_messages`.

One row per raw message, with the sender replaced by a keyed pseudonym, the text
normalized and masked, the language and the counts analysts group by. No phone number,
e-mail address, wa_id or participant name leaves this module, in any column: `text_clean`
is the normalized body with phone numbers, e-mails and the conversation's participant
names masked (links kept); `text_redacted` masks the links too.

Everything that reads neighbouring messages (the short-message language fallback, the
participant names to mask) reads the same conversation's messages of the same UTC day,
never the run's whole batch: a day gives the same rows whether it ran alone or in a range.

Built over plain Python lists, not per-row pandas `.apply`. Throughput on a synthetic
100k-row frame (six languages, 35% one-word replies, emoji, URLs, phone numbers, media and
system rows): ~14,000 messages/s of CPU time on one core of a loaded 2-core machine, of
which language detection takes ~45%, tokenizing ~23%, redaction ~12%.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from wareader_pipelines.nlp.language import LanguageDetector, assign_languages
from wareader_pipelines.nlp.pii import (
    PiiMasker,
    mask_urls,
    phone_digits,
    region_of_phone_digits,
)
from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.nlp.text import Tokenizers, emoji_count, normalize_text, urls_in

CLEANED_COLUMNS: tuple[str, ...] = (
    "message_id",
    "conversation_id",
    "sender_id",
    "sent_at",
    "message_type",
    "text_clean",
    "text_redacted",
    "language",
    "language_confidence",
    "language_method",
    "is_media",
    "is_system",
    "is_edited",
    "reply_to_id",
    "word_count",
    "emoji_count",
    "url_count",
    "char_count",
)

T = TypeVar("T")
_MISSING: Any = object()
MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker", "media"})
# Rows whose text WhatsApp wrote, not the sender: no language is assigned to them.
_GENERATED_TEXT_TYPES = frozenset({"system", "deleted"})
_DTYPES = {
    "language_confidence": "float64",
    "is_media": "bool",
    "is_system": "bool",
    "is_edited": "bool",
    "word_count": "int64",
    "emoji_count": "int64",
    "url_count": "int64",
    "char_count": "int64",
}


def _present(value: Any) -> bool:
    """Whether a cell holds a value (not None, NaN or NA)."""
    return value is not None and not (isinstance(value, float) and value != value)


def _text_or_empty(value: Any) -> str:
    """A cell as text, "" for a missing value."""
    return value if isinstance(value, str) else ""


def sender_key(
    sender_wa_id: str | None,
    sender_name: str | None,
    conversation_id: str,
    default_region: str = "US",
) -> str:
    """The identifying string of a message's sender, "" when the message has no sender.

    A person is their phone number or Cloud API user id when known. Exports name unsaved
    contacts by their number: such a name is read as that number, so the person gets the
    same key as in webhooks. Otherwise the key is the export name within the conversation
    (two "Mom"s in two chats are two people).
    """
    if sender_wa_id:
        return sender_wa_id
    if not sender_name:
        return ""
    name = normalize_text(sender_name)
    return phone_digits(name, default_region) or f"name:{conversation_id}:{name}"


def clean_messages(
    raw: pd.DataFrame,
    *,
    pseudonyms: Pseudonymizer,
    detector: LanguageDetector,
    tokenizers: Tokenizers,
    default_region: str = "US",
    phone_regions: Sequence[str] = (),
) -> pd.DataFrame:
    """The `cleaned_messages` rows (columns `CLEANED_COLUMNS`) of the `raw_messages` rows.

    `default_region` reads phone numbers written without a country code when the sender's
    own number does not tell the region; digit runs neither reads are then tried in
    `phone_regions` (see `nlp.pii.phone_regions`). Each row depends only on the rows of its
    conversation and UTC day, so any batch of whole days gives the same rows for them.
    """
    if raw.empty:
        return _typed(pd.DataFrame({c: pd.Series(dtype="object") for c in CLEANED_COLUMNS}))

    conversation_ids: list[str] = raw["conversation_id"].tolist()
    message_types: list[str] = raw["message_type"].tolist()
    is_system = [bool(v) for v in raw["is_system"].tolist()]
    # Chats repeat themselves ("ok", "jaja", emoji, forwarded lines): every per-text step
    # below runs once per distinct text, and rows share the result.
    texts = _per_distinct(raw["text"].tolist(), lambda t: normalize_text(_text_or_empty(t)))

    keys = _sender_keys(raw, conversation_ids, default_region)
    sender_ids = [pseudonyms.id_of(k, prefix="u_") if k else None for k in keys]
    regions = _regions_of(keys, default_region)
    counts = _per_distinct(texts, lambda t: (emoji_count(t), len(urls_in(t))))
    days = _utc_days(raw["sent_at"])
    contexts = _joined(conversation_ids, days, blank_if_no_key=False)
    names = _participant_names(raw, contexts)
    masker = PiiMasker(phone_regions, default_region)
    masked_of: dict[tuple[str, str, frozenset[str]], str] = {}
    masked: list[str] = []
    for t, r, c in zip(texts, regions, contexts, strict=True):
        key = (t, r, names[c])
        value = masked_of.get(key) if t else t
        if value is None:
            value = masked_of[key] = masker.mask(t, region=r, names=names[c], keep_urls=True)
        masked.append(value)
    redacted = _per_distinct(masked, lambda t: mask_urls(t) if t else t)

    written = [
        "" if system or kind in _GENERATED_TEXT_TYPES else t
        for t, system, kind in zip(redacted, is_system, message_types, strict=True)
    ]
    # The fallbacks' context is the conversation's day (see the module docstring).
    sender_contexts = _joined(keys, days, blank_if_no_key=True)
    languages, confidences, methods = assign_languages(written, sender_contexts, contexts, detector)
    words = tokenizers.word_counts(texts, languages)

    columns: dict[str, list[Any]] = {
        "message_id": raw["message_id"].tolist(),
        "conversation_id": conversation_ids,
        "sender_id": sender_ids,
        "sent_at": raw["sent_at"].array,  # keeps the tz-aware datetime64 dtype
        "message_type": message_types,
        "text_clean": masked,
        "text_redacted": redacted,
        "language": languages,
        "language_confidence": confidences,
        "language_method": methods,
        "is_media": [kind in MEDIA_TYPES for kind in message_types],
        "is_system": is_system,
        "is_edited": [bool(v) for v in raw["is_edited"].tolist()],
        "reply_to_id": [v if _present(v) else None for v in raw["reply_to_id"].tolist()],
        "word_count": words,
        "emoji_count": [c[0] for c in counts],
        "url_count": [c[1] for c in counts],
        "char_count": [len(t) for t in texts],
    }
    frame = pd.DataFrame(columns, columns=list(CLEANED_COLUMNS))
    return _typed(frame)


def _per_distinct(values: Sequence[Any], function: Callable[[Any], T]) -> list[T]:
    """`[function(v) for v in values]`, calling `function` once per distinct value.

    Values must be hashable.
    """
    results: dict[Any, T] = {}
    out: list[T] = []
    append = out.append
    get = results.get
    for value in values:
        result = get(value, _MISSING)
        if result is _MISSING:
            result = results[value] = function(value)
        append(result)  # type: ignore[arg-type]
    return out


def _sender_keys(
    raw: pd.DataFrame, conversation_ids: Sequence[str], default_region: str
) -> list[str]:
    """The sender key (see `sender_key`) of every row; "" for rows without a sender."""
    wa_ids = [v if isinstance(v, str) else None for v in raw["sender_wa_id"].tolist()]
    names = [v if isinstance(v, str) else None for v in raw["sender_name"].tolist()]
    cache: dict[tuple[str | None, str | None, str], str] = {}
    keys: list[str] = []
    for wa_id, name, conversation in zip(wa_ids, names, conversation_ids, strict=True):
        cache_key = (wa_id, name, conversation)
        key = cache.get(cache_key)
        if key is None:
            key = cache[cache_key] = sender_key(wa_id, name, conversation, default_region)
        keys.append(key)
    return keys


def _participant_names(raw: pd.DataFrame, contexts: Sequence[str]) -> dict[str, frozenset[str]]:
    """The display names to mask in each conversation-day: its senders' names, the names of
    everyone who writes in the chat's export (`participant_names`), and for webhook chats the
    customer's profile name (the conversation's name), also on days they did not write."""
    names: dict[str, set[str]] = {}
    empty = [None] * len(raw)
    sender_names = raw["sender_name"].tolist()
    titles = raw["conversation_name"].tolist() if "conversation_name" in raw else empty
    sources = raw["source"].tolist() if "source" in raw else empty
    everyone = raw["participant_names"].tolist() if "participant_names" in raw else empty
    # A chat's rows repeat the same few names: each is normalized once, and each list of
    # participants is added once per conversation-day.
    normalized: dict[str, str] = {}
    listed: dict[str, tuple[str, ...]] = {}
    added: set[tuple[str, str]] = set()

    def normal(name: str) -> str:
        value = normalized.get(name)
        if value is None:
            value = normalized[name] = normalize_text(name)
        return value

    for context, sender, title, source, listing in zip(
        contexts, sender_names, titles, sources, everyone, strict=True
    ):
        found = names.get(context)
        if found is None:
            found = names[context] = set()
        if isinstance(sender, str) and sender:
            found.add(normal(sender))
        if source == "webhook" and isinstance(title, str) and title:
            found.add(normal(title))
        if isinstance(listing, str) and listing and (context, listing) not in added:
            added.add((context, listing))
            people = listed.get(listing)
            if people is None:
                people = listed[listing] = tuple(normal(name) for name in _json_names(listing))
            found.update(people)
    return {context: frozenset(found) for context, found in names.items()}


@lru_cache(maxsize=1024)
def _json_names(names: str) -> tuple[str, ...]:
    return tuple(n for n in json.loads(names) if isinstance(n, str))


def _utc_days(sent_at: pd.Series) -> list[str]:
    """Each time's UTC day as "YYYY-MM-DD", one string object per distinct day."""
    utc = pd.to_datetime(sent_at, utc=True)
    instants = utc.dt.tz_localize(None).to_numpy()
    if np.isnat(instants).any():  # not in raw_messages; kept as pandas writes a missing day
        return [str(day) for day in utc.dt.date.tolist()]
    distinct, positions = np.unique(instants.astype("datetime64[D]"), return_inverse=True)
    texts = [str(day) for day in distinct.astype(object)]  # datetime.date's own str()
    return [texts[p] for p in positions.tolist()]


def _joined(keys: Sequence[str], days: Sequence[str], *, blank_if_no_key: bool) -> list[str]:
    """`f"{key}|{day}"` per row ("" for an empty key with `blank_if_no_key`), one string per
    distinct pair: a million rows hold a few thousand conversation-days."""
    cache: dict[tuple[str, str], str] = {}
    out: list[str] = []
    for key, day in zip(keys, days, strict=True):
        value = cache.get((key, day))
        if value is None:
            value = cache[(key, day)] = f"{key}|{day}" if key or not blank_if_no_key else ""
        out.append(value)
    return out


def _regions_of(keys: Sequence[str], default_region: str) -> list[str]:
    """For each sender key, the region their numbers are read in: their own number's, else the default."""
    cache: dict[str, str] = {}
    regions: list[str] = []
    for key in keys:
        region = cache.get(key)
        if region is None:
            region = cache[key] = (
                region_of_phone_digits(key) if key.isdigit() else None
            ) or default_region
        regions.append(region)
    return regions


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the stable dtypes of the table (also when it is empty)."""
    return frame.astype(_DTYPES)
