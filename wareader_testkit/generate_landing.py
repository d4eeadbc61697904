"""A seeded generator of realistic landing zones: chat exports and webhook bodies, at any size.

It writes what phones and Meta actually deliver, in the landing zone's layout
(`wareader_pipelines.landing.layout`):

- `exports/`: "Export chat" files of 1:1 and group chats in six languages (en, es, pt,
  de, fr, it) and seven header layouts (Android 24 h with slashes, dots or year first,
  Android US 12 h with U+202F before AM/PM, iOS bracketed with seconds in 24 h and 12 h),
  some as `.zip` with media files beside the chat. Bodies mix many short replies ("ok",
  "jaja", "😂"), sentences, multi-line messages, emoji with skin tones, ZWJ sequences and
  flags, a few phone numbers, e-mail addresses and links, media placeholders in the phone's
  language, deleted and edited markers, encryption notices and group events.
- `webhooks/`: Meta `whatsapp_business_account` bodies, one to three messages each (text,
  image, audio, sticker, reaction, location, document, button replies), delivery statuses
  (sent, delivered, read, failed; sometimes `delivered` is skipped), bodies re-delivered
  byte-identical later (duplicates), bodies delivered hours or days late (within the
  ingestion look-back), and a few malformed bodies for the quarantine. Business traffic:
  replies sent through the API (known only from statuses) or from the Business app
  (`smb_message_echoes`), statuses carrying `conversation` and `pricing` objects under both
  pricing models (CBP and PMP), template sends outside the service window (marketing ones
  failing 131050 for opted-out customers), late free-form replies failing 131047, STOP and
  START messages in the six languages, a `read` delivered before its `delivered`, and a
  `failed` after a `read`.

The same seed always writes the same files, byte for byte. Text comes from the small
phrase lists in `wareader_testkit/chat_locales.py`; nothing is downloaded. Export times are
written as UTC wall times, so read them with `WAREADER_EXPORT_TIMEZONE=UTC` (the default).

    python -m wareader_testkit.generate_landing --messages 100000 --out /tmp/landing --seed 7

The shipped sample's small business account (a support number, ten customers, a week of
traffic) was written with:

    python -m wareader_testkit.generate_landing --messages 160 --webhook-share 1 --seed 10 \
        --start 2024-05-20 --days 7 --business 15555550142:106540352242942 --out sample_data/landing
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import math
import random
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wareader_pipelines.landing.layout import EXPORT_PREFIX, webhook_key
from wareader_testkit.chat_locales import (
    EMAIL_DOMAINS,
    EMOJI_ALL,
    EMOJI_FLAGS,
    EMOJI_SKIN_TONE,
    EMOJI_ZWJ,
    LANGUAGES,
    LOCALES,
    URLS,
    ChatLocale,
)

DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)
DEFAULT_DAYS = 366  # all of 2024
DEFAULT_WEBHOOK_SHARE = 0.3
MESSAGES_PER_EXPORT = 20_000  # a large export: chats are added as the size grows
MIN_EXPORTS = 12  # enough for every (language, layout) pairing in `_CHAT_STYLES`
MIN_MESSAGES_PER_EXPORT = 60  # below this the parser's whole-file decisions get shaky
MESSAGES_PER_CUSTOMER = 150
LATE_BODY_SHARE = 0.03  # delivered 1 hour to 6 days late (the ingestion look-back is 7 days)
DUPLICATE_BODY_SHARE = 0.02  # delivered again, byte-identical, up to 2 days later
MALFORMED_BODY_EVERY = 20_000  # webhook messages per truncated body (at least one)

WABA_ID = "102290129340398"
BUSINESSES = (("15555550100", "106540352242922"), ("15555550199", "106540352242999"))
# Stop and start words per language, as customers type them (dbt/seeds/opt_out_keywords.csv).
OPT_OUT_WORDS = {
    "en": ("STOP", "Start"),
    "es": ("BAJA", "alta"),
    "pt": ("Sair", "VOLTAR"),
    "de": ("STOPP", "Anmelden"),
    "fr": ("ARRÊT", "reprendre"),
    "it": ("Annulla", "ricomincia"),
}
ECHO_REPLY_SHARE = 0.15  # replies typed in the Business app: an echo message, then statuses
TEMPLATE_SHARE = 0.06  # bursts followed, days later, by a template outside the window
LATE_REPLY_SHARE = 0.02  # free-form replies sent over 24 h late: refused with 131047
OPT_OUT_SHARE = 0.01  # customer messages that are a stop word
_LRM = "\u200e"
_NNBSP = "\u202f"
# When people write: weight per hour of the day (UTC wall time), quiet at night.
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 9, 10, 11, 10, 9, 9, 10, 11, 12, 13, 12, 10, 6, 3)
_HOURS = tuple(range(24))


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """A header layout phones write, and the date order the parser should decide for it."""

    name: str
    ios: bool
    date_order: str
    header: Callable[[datetime], str]


def _twelve(moment: datetime) -> tuple[int, str]:
    return (moment.hour % 12 or 12), ("AM" if moment.hour < 12 else "PM")


def _android_us_12h(m: datetime) -> str:
    hour, half = _twelve(m)
    return f"{m.month}/{m.day}/{m.year % 100:02d}, {hour}:{m.minute:02d}{_NNBSP}{half} - "


def _ios_us_12h(m: datetime) -> str:
    hour, half = _twelve(m)
    return (
        f"[{m.month}/{m.day}/{m.year % 100:02d}, {hour}:{m.minute:02d}:{m.second:02d}"
        f"{_NNBSP}{half}] "
    )


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "android_dmy",
            False,
            "DMY",
            lambda m: f"{m.day:02d}/{m.month:02d}/{m.year}, {m.hour:02d}:{m.minute:02d} - ",
        ),
        ExportFormat(
            "android_dmy_dots",
            False,
            "DMY",
            lambda m: (
                f"{m.day:02d}.{m.month:02d}.{m.year % 100:02d}, {m.hour:02d}:{m.minute:02d} - "
            ),
        ),
        ExportFormat("android_us_12h", False, "MDY", _android_us_12h),
        ExportFormat(
            "android_year_first",
            False,
            "YMD",
            lambda m: f"{m.year}-{m.month:02d}-{m.day:02d}, {m.hour:02d}:{m.minute:02d} - ",
        ),
        ExportFormat(
            "ios_dmy_dots",
            True,
            "DMY",
            lambda m: (
                f"[{m.day:02d}.{m.month:02d}.{m.year % 100:02d}, "
                f"{m.hour:02d}:{m.minute:02d}:{m.second:02d}] "
            ),
        ),
        ExportFormat(
            "ios_dmy_slash",
            True,
            "DMY",
            lambda m: (
                f"[{m.day:02d}/{m.month:02d}/{m.year}, {m.hour:02d}:{m.minute:02d}:{m.second:02d}] "
            ),
        ),
        ExportFormat("ios_us_12h", True, "MDY", _ios_us_12h),
    )
}

# (language, layout, zipped with media, group chat), cycled over the exports.
_CHAT_STYLES: tuple[tuple[str, str, bool, bool], ...] = (
    ("en", "android_us_12h", False, True),
    ("es", "android_dmy", True, False),
    ("pt", "ios_dmy_slash", False, True),
    ("de", "ios_dmy_dots", True, True),
    ("fr", "android_dmy", False, False),
    ("it", "android_year_first", False, True),
    ("en", "ios_us_12h", True, False),
    ("de", "android_dmy_dots", False, True),
    ("es", "ios_dmy_slash", False, False),
    ("pt", "android_dmy", True, True),
    ("fr", "ios_dmy_slash", False, True),
    ("it", "android_dmy", False, False),
)


@dataclass(slots=True)
class GeneratedLanding:
    """What `generate_landing` wrote: counts to check a parser's reading against."""

    root: Path
    seed: int
    start: datetime  # every message and status is sent in [start, end)
    end: datetime
    export_files: int = 0
    export_messages: int = 0  # one per header line, system lines included
    webhook_bodies: int = 0  # files, duplicates and malformed ones included
    webhook_messages: int = 0  # distinct message ids
    duplicate_bodies: int = 0
    duplicate_messages: int = 0  # extra copies of messages in re-delivered bodies
    late_bodies: int = 0
    statuses: int = 0  # distinct (message id, status)
    duplicate_statuses: int = 0
    malformed_bodies: int = 0
    bytes_written: int = 0
    languages: Counter[str] = field(default_factory=Counter)  # messages per language
    formats: Counter[str] = field(default_factory=Counter)  # export messages per layout
    export_layouts: dict[str, str] = field(default_factory=dict)  # landing key -> layout name
    features: Counter[str] = field(default_factory=Counter)  # see `_Writer` for the keys

    @property
    def messages(self) -> int:
        """Distinct messages: what `raw_messages` should hold for [start, end)."""
        return self.export_messages + self.webhook_messages

    def summary(self) -> dict[str, object]:
        """The counts as plain JSON-ready values."""
        return {
            "root": str(self.root),
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "messages": self.messages,
            "export_files": self.export_files,
            "export_messages": self.export_messages,
            "webhook_bodies": self.webhook_bodies,
            "webhook_messages": self.webhook_messages,
            "duplicate_bodies": self.duplicate_bodies,
            "duplicate_messages": self.duplicate_messages,
            "late_bodies": self.late_bodies,
            "statuses": self.statuses,
            "duplicate_statuses": self.duplicate_statuses,
            "malformed_bodies": self.malformed_bodies,
            "bytes_written": self.bytes_written,
            "languages": dict(sorted(self.languages.items())),
            "formats": dict(sorted(self.formats.items())),
            "export_layouts": dict(sorted(self.export_layouts.items())),
            "features": dict(sorted(self.features.items())),
        }


def generate_landing(
    out: Path,
    *,
    messages: int,
    seed: int = 7,
    webhook_share: float = DEFAULT_WEBHOOK_SHARE,
    start: datetime = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    businesses: tuple[tuple[str, str], ...] = BUSINESSES,
) -> GeneratedLanding:
    """Write a landing zone of about `messages` distinct messages under `out`; return its counts.

    `webhook_share` of the messages arrive as webhook bodies, the rest in chat exports;
    all are sent in [start, start + days), to and from `businesses` ((display number,
    phone number id) pairs). `out` should be empty: files are added, never removed.
    """
    if messages < 0:
        raise ValueError("messages must be >= 0")
    if not 0.0 <= webhook_share <= 1.0:
        raise ValueError("webhook_share must be between 0 and 1")
    if days < 1:
        raise ValueError("days must be >= 1")
    start = start.astimezone(UTC)
    result = GeneratedLanding(root=out, seed=seed, start=start, end=start + timedelta(days=days))
    webhook_messages = round(messages * webhook_share)
    writer = _Writer(out, result)
    _ExportGenerator(random.Random(f"{seed}:exports"), writer).write(messages - webhook_messages)
    _WebhookGenerator(random.Random(f"{seed}:webhooks"), writer, businesses).write(webhook_messages)
    return result


def generate_export(
    out: Path,
    *,
    messages: int,
    language: str = "es",
    layout: str = "android_dmy",
    group: bool = True,
    seed: int = 7,
    start: datetime = DEFAULT_START,
    days: int = DEFAULT_DAYS,
) -> tuple[Path, GeneratedLanding]:
    """Write ONE unzipped chat export of `messages` header lines under `out`; its path and counts.

    Same text, senders and markers as `generate_landing`'s exports, in one layout of
    `FORMATS`: the file peers' parsers and ours are compared on.
    """
    start = start.astimezone(UTC)
    result = GeneratedLanding(root=out, seed=seed, start=start, end=start + timedelta(days=days))
    generator = _ExportGenerator(random.Random(f"{seed}:one-export"), _Writer(out, result))
    chat = generator._chat(LOCALES[language], FORMATS[layout], False, group)
    times = _times(
        generator.rng, messages, int(start.timestamp()), int(result.end.timestamp()), gap=150.0
    )
    generator._write_chat(chat, times)
    (key,) = result.export_layouts
    return out / key, result


# -- shared pieces ------------------------------------------------------------------------


class _Writer:
    """Writes files under the landing root and keeps `GeneratedLanding` up to date.

    Feature keys: system, media, multiline, edited, deleted, short, emoji, emoji_only,
    emoji_skin_tone, emoji_zwj, emoji_flag, pii_phone, pii_email, pii_url, reactions,
    user_id_customers, skipped_delivered, failed_statuses, zipped_exports, group_chats,
    echoes, templates, failed_131047, failed_131050, stop_words, start_words, pricing_cbp,
    pricing_pmp, read_before_delivered, failed_after_read.
    """

    def __init__(self, root: Path, result: GeneratedLanding) -> None:
        self.root = root
        self.result = result
        self._folders: set[Path] = set()

    def write(self, key: str, data: bytes) -> None:
        path = self.root / key
        folder = path.parent
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        path.write_bytes(data)
        self.result.bytes_written += len(data)


def _times(rng: random.Random, count: int, start: int, end: int, gap: float) -> list[int]:
    """`count` sorted send times (epoch seconds) in [start, end), in bursts like real chats."""
    days = max(1, (end - start) // 86400)
    times: list[int] = []
    while len(times) < count:
        size = min(count - len(times), 1 + int(rng.expovariate(1 / 5)))
        hour = rng.choices(_HOURS, _HOUR_WEIGHTS)[0]
        moment = start + rng.randrange(days) * 86400 + hour * 3600 + rng.randrange(3600)
        for _ in range(size):
            times.append(min(int(moment), end - 1))
            moment += 2 + rng.expovariate(1 / gap)
    times.sort()
    return times


class _TextMaker:
    """Message bodies with a realistic length mix, per language; counts what it wrote."""

    def __init__(self, rng: random.Random, features: Counter[str]) -> None:
        self.rng = rng
        self.features = features

    def emoji(self) -> str:
        pick = self.rng.choice(EMOJI_ALL)
        if pick in EMOJI_SKIN_TONE:
            self.features["emoji_skin_tone"] += 1
        elif pick in EMOJI_ZWJ:
            self.features["emoji_zwj"] += 1
        elif pick in EMOJI_FLAGS:
            self.features["emoji_flag"] += 1
        return pick

    def phone(self, locale: ChatLocale) -> str:
        """A mobile number in the locale's country, as people type it."""
        rng = self.rng
        digits = locale.mobile_prefix + "".join(
            str(rng.randrange(10))
            for _ in range(sum(locale.phone_groups) - len(locale.mobile_prefix))
        )
        groups, at = [], 0
        for size in locale.phone_groups:
            groups.append(digits[at : at + size])
            at += size
        return f"+{locale.country_code} " + " ".join(groups)

    def phrase(self, locale: ChatLocale) -> str:
        return self.rng.choice(locale.phrases)

    def sentence(self, locale: ChatLocale) -> str:
        """A phrase, often addressed to someone or given a time, as people vary what they say.

        Without this the phrase lists would repeat far more than real chats do, and every
        per-distinct-text cache downstream would look better than it is.
        """
        rng = self.rng
        text = self.phrase(locale)
        roll = rng.random()
        if roll < 0.35:
            text = f"{rng.choice(locale.first_names)}, {text[0].lower()}{text[1:]}"
        if rng.random() < 0.3:
            moment = f"{rng.randrange(7, 23)}:{rng.randrange(0, 60, 5):02d}"
            end = text[-1] if text[-1] in "?!." else ""
            text = f"{text.rstrip('?!. ')} {locale.at_time.format(t=moment)}{end}"
        return text

    def body(self, locale: ChatLocale, *, multiline: bool = True) -> str:
        """One message body: short reply, emoji, a sentence or several, sometimes multi-line."""
        rng = self.rng
        features = self.features
        roll = rng.random()
        if roll < 0.30:
            features["short"] += 1
            text = rng.choice(locale.short_replies)
            if rng.random() < 0.2:
                features["emoji"] += 1
                text += " " + self.emoji()
            return text
        if roll < 0.40:
            features["short"] += 1
            features["emoji"] += 1
            features["emoji_only"] += 1
            return "".join(self.emoji() for _ in range(1 + int(rng.expovariate(1.5))))
        if roll < 0.83:
            text = self.sentence(locale)
        elif roll < 0.96 or not multiline:
            text = " ".join(_sentence(self.sentence(locale)) for _ in range(rng.randint(2, 3)))
        else:
            features["multiline"] += 1
            text = "\n".join(self.sentence(locale) for _ in range(rng.randint(2, 4)))
        if rng.random() < 0.025:
            text += " " + self.pii(locale)
        if rng.random() < 0.25:
            features["emoji"] += 1
            text += " " + "".join(self.emoji() for _ in range(rng.randint(1, 3)))
        return text

    def pii(self, locale: ChatLocale) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            self.features["pii_phone"] += 1
            return f"{locale.pii_lead} {self.phone(locale)}"
        if roll < 0.75:
            self.features["pii_email"] += 1
            first = rng.choice(locale.first_names).lower()
            last = rng.choice(locale.last_names).lower()
            return f"{first}.{last}@{rng.choice(EMAIL_DOMAINS)}"
        self.features["pii_url"] += 1
        token = base64.urlsafe_b64encode(rng.randbytes(9)).decode("ascii")
        return rng.choice(URLS).format(token=token, number=rng.randrange(1000, 99999))


# -- chat exports -----------------------------------------------------------------------


@dataclass(slots=True)
class _Chat:
    locale: ChatLocale
    layout: ExportFormat
    zipped: bool
    group: bool
    title: str
    people: list[str]
    owner: str  # the phone that exported the chat


class _ExportGenerator:
    """Writes the chat exports: one file (or zip) per chat, messages in time order."""

    def __init__(self, rng: random.Random, writer: _Writer) -> None:
        self.rng = rng
        self.writer = writer
        self.result = writer.result
        self.text = _TextMaker(rng, self.result.features)
        self.titles: set[str] = set()

    def write(self, total: int) -> None:
        if total <= 0:
            return
        chats = max(
            1,
            min(
                max(MIN_EXPORTS, math.ceil(total / MESSAGES_PER_EXPORT)),
                total // MIN_MESSAGES_PER_EXPORT,
            ),
        )
        weights = [self.rng.uniform(0.4, 1.6) for _ in range(chats)]
        sizes = _split(total, weights)
        start = int(self.result.start.timestamp())
        end = int(self.result.end.timestamp())
        for index, size in enumerate(sizes):
            language, layout, zipped, group = _CHAT_STYLES[index % len(_CHAT_STYLES)]
            chat = self._chat(LOCALES[language], FORMATS[layout], zipped, group)
            self._write_chat(chat, _times(self.rng, size, start, end, gap=150.0))

    def _person(self, locale: ChatLocale) -> str:
        return f"{self.rng.choice(locale.first_names)} {self.rng.choice(locale.last_names)}"

    def _chat(self, locale: ChatLocale, layout: ExportFormat, zipped: bool, group: bool) -> _Chat:
        rng = self.rng
        owner = self._person(locale)
        if group:
            title = rng.choice(locale.group_titles)
            people = [owner]
            while len(people) < rng.randint(3, 7):
                person = self._person(locale)
                if person not in people:
                    people.append(person)
            people.append(self.text.phone(locale))  # an unsaved contact shows as their number
        else:
            title = self._person(locale)
            while title == owner:
                title = self._person(locale)
            people = [owner, title]
        unique, copy = title, 2
        while unique in self.titles:
            unique, copy = f"{title} {copy}", copy + 1
        self.titles.add(unique)
        if group:
            self.result.features["group_chats"] += 1
        if zipped:
            self.result.features["zipped_exports"] += 1
        return _Chat(locale, layout, zipped, group, unique, people, owner)

    def _write_chat(self, chat: _Chat, times: list[int]) -> None:
        rng = self.rng
        result = self.result
        features = result.features
        locale, layout = chat.locale, chat.layout
        header = layout.header
        ios = layout.ios
        lines: list[str] = []
        media: dict[str, bytes] = {}
        from_ts = datetime.fromtimestamp
        # The lines WhatsApp writes at the top: the encryption notice, then the group's making.
        opening = [locale.encryption_notice]
        if chat.group:
            creator = chat.people[0]
            opening.append(locale.created_group.format(a=creator, t=chat.title))
            opening.extend(locale.added.format(a=creator, b=p) for p in chat.people[1:])
        speaker = chat.people[0]
        for position, moment_s in enumerate(times):
            moment = from_ts(moment_s, UTC)
            head = header(moment)
            if position < len(opening):
                lines.append(self._system_line(chat, head, opening[position]))
                continue
            if chat.group:
                roll = rng.random()
                if roll < 0.006:
                    event = rng.choice((locale.changed_subject, locale.changed_icon, locale.left))
                    features["system"] += 1
                    lines.append(
                        self._system_line(
                            chat, head, event.format(a=rng.choice(chat.people), t=chat.title)
                        )
                    )
                    continue
                if roll < 0.5:
                    speaker = rng.choice(chat.people)
            elif rng.random() < 0.6:
                speaker = chat.people[1] if speaker == chat.people[0] else chat.people[0]
            lines.append(f"{head}{speaker}: {self._body(chat, moment, media)}")
        result.export_files += 1
        result.export_messages += len(times)
        result.formats[layout.name] += len(times)
        result.languages[locale.code] += len(times)
        features["system"] += min(len(opening), len(times))
        newline = "\r\n" if ios else "\n"
        text = (newline.join(lines) + newline).encode("utf-8")
        # iOS names the file "WhatsApp Chat - <title>" whatever the phone's language.
        stem = f"WhatsApp Chat - {chat.title}" if ios else f"{locale.title_prefix} {chat.title}"
        key = f"{EXPORT_PREFIX}{stem}.{'zip' if chat.zipped else 'txt'}"
        result.export_layouts[key] = layout.name
        if not chat.zipped:
            self.writer.write(key, text)
            return
        buffer = io.BytesIO()
        stamp = (2025, 1, 2, 8, 0, 0)
        with zipfile.ZipFile(buffer, "w") as archive:
            member = "_chat.txt" if ios else f"{stem}.txt"
            archive.writestr(zipfile.ZipInfo(member, stamp), text, zipfile.ZIP_DEFLATED)
            for name, data in media.items():
                archive.writestr(zipfile.ZipInfo(name, stamp), data, zipfile.ZIP_STORED)
        self.writer.write(key, buffer.getvalue())

    def _system_line(self, chat: _Chat, head: str, text: str) -> str:
        """Android writes system lines without an author; iOS under the chat's name, after a mark."""
        if chat.layout.ios:
            author = chat.title if chat.group else chat.people[1]
            return f"{head}{author}: {_LRM}{text}"
        return head + text

    def _body(self, chat: _Chat, moment: datetime, media: dict[str, bytes]) -> str:
        rng = self.rng
        features = self.result.features
        locale = chat.locale
        roll = rng.random()
        if roll < 0.06:
            features["media"] += 1
            return self._media(chat, moment, media)
        if roll < 0.067:
            features["deleted"] += 1
            return (_LRM + locale.deleted) if chat.layout.ios else locale.deleted
        text = self.text.body(locale)
        if roll < 0.075:
            features["edited"] += 1
            text += (_LRM if chat.layout.ios else " ") + locale.edited
        return text

    def _media(self, chat: _Chat, moment: datetime, media: dict[str, bytes]) -> str:
        """A media line as the phone writes it: placeholder without media, file name with."""
        rng = self.rng
        locale = chat.locale
        kind = rng.choices(("image", "video", "audio", "sticker"), (6, 1, 2, 1))[0]
        if not chat.zipped:
            if chat.layout.ios:
                return _LRM + locale.ios_omitted[kind]
            return locale.media_omitted
        number = len(media) + 1
        caption = ""
        if kind in ("image", "video") and rng.random() < 0.4:
            caption = self.text.phrase(locale)
        if chat.layout.ios:
            tag, extension = {
                "image": ("PHOTO", "jpg"),
                "video": ("VIDEO", "mp4"),
                "audio": ("AUDIO", "opus"),
                "sticker": ("STICKER", "webp"),
            }[kind]
            name = f"{number:08d}-{tag}-{moment:%Y-%m-%d-%H-%M-%S}.{extension}"
            line = f"{_LRM}<{locale.ios_attached}: {name}>"
        else:
            tag, extension = {
                "image": ("IMG", "jpg"),
                "video": ("VID", "mp4"),
                "audio": ("PTT", "opus"),
                "sticker": ("STK", "webp"),
            }[kind]
            name = f"{tag}-{moment:%Y%m%d}-WA{number:04d}.{extension}"
            line = f"{_LRM}{name} ({locale.file_attached})"
        media[name] = rng.randbytes(rng.randint(64, 1024))
        return f"{line}\n{caption}" if caption else line  # the caption follows the file


def _sentence(phrase: str) -> str:
    """`phrase` ending like a sentence, so that several of them read as one message."""
    return phrase if phrase[-1] in ".?!" else phrase + "."


def _split(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights`, summing exactly (largest remainders)."""
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    sizes = [int(s) for s in shares]
    order = sorted(range(len(shares)), key=lambda i: shares[i] - sizes[i], reverse=True)
    for i in order[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes


# -- webhook bodies ----------------------------------------------------------------------


@dataclass(slots=True)
class _Customer:
    locale: ChatLocale
    wa_id: str | None
    user_id: str | None
    name: str
    business: tuple[str, str]  # (display number, phone number id)
    sent: list[str] = field(default_factory=list)  # their recent message ids, for reactions
    opted_out: bool = False  # they sent a stop word and no start word since

    @property
    def contact(self) -> dict[str, object]:
        ident = {"wa_id": self.wa_id} if self.wa_id else {"user_id": self.user_id}
        return {"profile": {"name": self.name}, **ident}

    @property
    def sender(self) -> dict[str, str]:
        return {"from": self.wa_id} if self.wa_id else {"from_user_id": self.user_id}  # type: ignore[dict-item]

    @property
    def recipient(self) -> dict[str, str]:
        if self.wa_id:
            return {"recipient_id": self.wa_id}
        return {"recipient_user_id": self.user_id}  # type: ignore[dict-item]

    @property
    def addressee(self) -> dict[str, str]:
        """Who an echo is to: `to` (wa_id) or `to_user_id`."""
        return {"to": self.wa_id} if self.wa_id else {"to_user_id": self.user_id}  # type: ignore[dict-item]


class _WebhookGenerator:
    """Writes webhook bodies: customers' messages in small batches, and statuses of replies."""

    def __init__(
        self, rng: random.Random, writer: _Writer, businesses: tuple[tuple[str, str], ...]
    ) -> None:
        self.rng = rng
        self.writer = writer
        self.businesses = businesses
        self.result = writer.result
        self.text = _TextMaker(rng, self.result.features)
        self.end_s = int(self.result.end.timestamp())
        self.wa_ids: set[str] = set()

    def write(self, total: int) -> None:
        if total <= 0:
            return
        rng = self.rng
        customers = [self._customer(i) for i in range(max(10, total // MESSAGES_PER_CUSTOMER))]
        start = int(self.result.start.timestamp())
        days = max(1, (self.end_s - start) // 86400)
        written = 0
        while written < total:
            customer = rng.choice(customers)
            size = min(total - written, 1 + int(rng.expovariate(1 / 3)))
            hour = rng.choices(_HOURS, _HOUR_WEIGHTS)[0]
            moment = start + rng.randrange(days) * 86400 + hour * 3600 + rng.randrange(3600)
            messages = []
            for _ in range(size):
                messages.append(self._message(customer, min(int(moment), self.end_s - 1)))
                moment += 3 + rng.expovariate(1 / 40)
            written += size
            while messages:  # Meta may batch a customer's messages into one body
                take = rng.randint(1, 3)
                batch, messages = messages[:take], messages[take:]
                self._message_body(customer, batch)
            roll = rng.random()
            if roll < LATE_REPLY_SHARE:  # over 24 h later, free-form: refused
                late_s = int(moment) + rng.randint(86400 + 60, 3 * 86400)
                self._reply_statuses(customer, late_s, error=self._late_reply_error())
            elif roll < 0.7:
                reply_s = int(moment) + rng.randint(30, 3600)
                if written < total and rng.random() < ECHO_REPLY_SHARE:
                    written += 1
                    self._echo(customer, min(reply_s, self.end_s - 1))
                else:
                    self._reply_statuses(customer, reply_s)
            if rng.random() < TEMPLATE_SHARE:
                self._template(customer, int(moment) + rng.randint(2 * 86400, 10 * 86400))
        for _ in range(max(1, total // MALFORMED_BODY_EVERY)):
            self._malformed_body(start, days)

    def _customer(self, index: int) -> _Customer:
        rng = self.rng
        locale = LOCALES[LANGUAGES[index % len(LANGUAGES)]]
        name = f"{rng.choice(locale.first_names)} {rng.choice(locale.last_names)}"
        business = self.businesses[index % len(self.businesses)]
        if index % 30 == 3:  # newer payloads hide the phone number behind a user id
            self.result.features["user_id_customers"] += 1
            user_id = f"{locale.code.upper()}.{rng.randrange(10**17, 10**18)}"
            return _Customer(locale, None, user_id, name, business)
        wa_id = self.text.phone(locale).replace(" ", "").lstrip("+")
        while wa_id in self.wa_ids:
            wa_id = self.text.phone(locale).replace(" ", "").lstrip("+")
        self.wa_ids.add(wa_id)
        return _Customer(locale, wa_id, None, name, business)

    def _wamid(self) -> str:
        return "wamid.HBgL" + base64.b64encode(self.rng.randbytes(27)).decode("ascii")

    def _message(self, customer: _Customer, sent_s: int) -> dict[str, object]:
        rng = self.rng
        features = self.result.features
        locale = customer.locale
        message: dict[str, object] = {
            **customer.sender,
            "id": self._wamid(),
            "timestamp": str(sent_s),
        }
        roll = rng.random()
        stop_word, start_word = OPT_OUT_WORDS[locale.code]
        if customer.opted_out and rng.random() < 0.3:
            features["start_words"] += 1
            customer.opted_out = False
            message.update(type="text", text={"body": start_word})
        elif roll < OPT_OUT_SHARE and not customer.opted_out:
            features["stop_words"] += 1
            customer.opted_out = True
            message.update(type="text", text={"body": stop_word + rng.choice(("", "!", " "))})
        elif roll < 0.82 or (0.92 <= roll < 0.95 and not customer.sent):
            message["type"] = "text"
            message["text"] = {"body": self.text.body(locale)}
            if rng.random() < 0.03:
                message["context"] = {"from": customer.business[0], "id": self._wamid()}
        elif roll < 0.87:
            features["media"] += 1
            image: dict[str, object] = {"mime_type": "image/jpeg"}
            if rng.random() < 0.6:
                image["caption"] = self.text.phrase(locale)
            message.update(type="image", image={**image, **self._media_ids()})
        elif roll < 0.90:
            features["media"] += 1
            message.update(
                type="audio",
                audio={"mime_type": "audio/ogg; codecs=opus", "voice": True, **self._media_ids()},
            )
        elif roll < 0.92:
            features["media"] += 1
            message.update(
                type="sticker",
                sticker={"mime_type": "image/webp", "animated": False, **self._media_ids()},
            )
        elif roll < 0.95:
            features["reactions"] += 1
            message.update(
                type="reaction",
                reaction={"message_id": rng.choice(customer.sent), "emoji": self.text.emoji()},
            )
        elif roll < 0.96:
            message.update(
                type="location",
                location={
                    "latitude": round(rng.uniform(-40, 60), 6),
                    "longitude": round(rng.uniform(-80, 30), 6),
                    "name": "Centro",
                },
            )
        elif roll < 0.975:
            features["media"] += 1
            message.update(
                type="document",
                document={
                    "filename": f"invoice-{rng.randrange(1000, 9999)}.pdf",
                    "mime_type": "application/pdf",
                    **self._media_ids(),
                },
            )
        else:
            message.update(
                type="interactive",
                interactive={
                    "type": "button_reply",
                    "button_reply": {
                        "id": f"btn-{rng.randrange(3)}",
                        "title": self.text.phrase(locale)[:20],
                    },
                },
            )
        customer.sent.append(message["id"])  # type: ignore[arg-type]
        del customer.sent[:-20]
        self.result.webhook_messages += 1
        self.result.languages[locale.code] += 1
        return message

    def _media_ids(self) -> dict[str, str]:
        return {
            "id": str(self.rng.randrange(10**15, 10**16)),
            "sha256": base64.b64encode(self.rng.randbytes(32)).decode("ascii"),
        }

    def _body(
        self, customer: _Customer, value: dict[str, object], *, field: str = "messages"
    ) -> bytes:
        display, phone_number_id = customer.business
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": WABA_ID,
                    "changes": [
                        {
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": display,
                                    "phone_number_id": phone_number_id,
                                },
                                **value,
                            },
                            "field": field,
                        }
                    ],
                }
            ],
        }
        return json.dumps(payload, separators=(",", ":")).encode("utf-8")

    def _deliver(self, body: bytes, last_event_s: int, *, messages: int, statuses: int) -> None:
        """Write `body` once (on time or late), and sometimes again as Meta's retry does."""
        rng = self.rng
        result = self.result
        received_us = last_event_s * 1_000_000 + rng.randrange(300_000, 8_000_000)
        if rng.random() < LATE_BODY_SHARE:
            result.late_bodies += 1
            received_us += rng.randrange(3600, 6 * 86400) * 1_000_000
        self._store(body, received_us)
        if rng.random() < DUPLICATE_BODY_SHARE:
            result.duplicate_bodies += 1
            result.duplicate_messages += messages
            result.duplicate_statuses += statuses
            self._store(body, received_us + rng.randrange(60, 2 * 86400) * 1_000_000)

    def _store(self, body: bytes, received_us: int) -> None:
        received_at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=received_us)
        self.writer.write(webhook_key(body, received_at), body)
        self.result.webhook_bodies += 1

    def _message_body(self, customer: _Customer, batch: list[dict[str, object]]) -> None:
        body = self._body(customer, {"contacts": [customer.contact], "messages": batch})
        last = max(int(m["timestamp"]) for m in batch)  # type: ignore[call-overload]
        self._deliver(body, last, messages=len(batch), statuses=0)

    def _pricing(self, category: str, sent_s: int, *, free: bool) -> dict[str, object]:
        """A status's `conversation` and `pricing`, under CBP or PMP (chosen at random)."""
        rng = self.rng
        if rng.random() < 0.5:
            self.result.features["pricing_cbp"] += 1
            return {
                "conversation": {
                    "id": base64.b16encode(rng.randbytes(16)).decode("ascii").lower(),
                    "expiration_timestamp": str(sent_s + 86400),
                    "origin": {"type": category},
                },
                "pricing": {"billable": not free, "pricing_model": "CBP", "category": category},
            }
        self.result.features["pricing_pmp"] += 1
        kind = "free_customer_service" if free else "regular"
        return {
            "pricing": {
                "billable": not free,
                "pricing_model": "PMP",
                "category": category,
                "type": kind,
            }
        }

    def _reply_statuses(
        self,
        customer: _Customer,
        sent_s: int,
        *,
        reply_id: str | None = None,
        category: str = "service",
        error: tuple[int, str, str] | None = None,
    ) -> None:
        """The statuses of one business message: sent (+ delivered) in one body, read in
        another; a failure instead when `error` is given or the reply is over 24 h late."""
        rng = self.rng
        features = self.result.features
        reply_id = reply_id or self._wamid()

        def status(state: str, at: int, **extra: object) -> dict[str, object]:
            return {
                "id": reply_id,
                "status": state,
                "timestamp": str(at),
                **customer.recipient,
                **extra,
            }

        def failure(code: int, title: str, details: str) -> dict[str, object]:
            return {
                "code": code,
                "title": title,
                "message": title,
                "error_data": {"details": details},
            }

        billing = self._pricing(category, sent_s, free=category == "service")
        first = [status("sent", sent_s, **billing)]
        then: list[dict[str, object]] = []
        later: list[dict[str, object]] = []
        roll = rng.random()
        delivered_s = sent_s + rng.randint(1, 10)
        read_s = delivered_s + rng.randint(5, 7200)
        if error is not None:  # refused outright: Meta sends only the failure
            features["failed_statuses"] += 1
            features[f"failed_{error[0]}"] += 1
            first = [status("failed", delivered_s, errors=[failure(*error)])]
        elif roll < 0.02:
            features["failed_statuses"] += 1
            first.append(
                status(
                    "failed",
                    delivered_s,
                    errors=[failure(131026, "Message undeliverable", "Unable to deliver message.")],
                )
            )
        elif roll < 0.11:  # delivered and read at once: Meta sends no `delivered`
            features["skipped_delivered"] += 1
            then.append(status("read", delivered_s))
        elif roll < 0.14:  # the read arrives before the delivered
            features["read_before_delivered"] += 1
            then.append(status("read", read_s))
            later.append(status("delivered", delivered_s, **billing))
        else:
            first.append(status("delivered", delivered_s))
            if rng.random() < 0.8:
                then.append(status("read", read_s))
                if rng.random() < 0.01:  # another device failed: the read stands
                    features["failed_after_read"] += 1
                    later.append(
                        status(
                            "failed",
                            read_s + rng.randint(1, 600),
                            errors=[failure(131000, "Something went wrong", "Unknown error.")],
                        )
                    )
        # `later` is received after everything else, even though it may be older
        later_at = max(read_s, delivered_s) + rng.randint(60, 3600)
        for number, group in enumerate((first, then, later)):
            group = [s for s in group if int(s["timestamp"]) < self.end_s]  # type: ignore[call-overload]
            if not group:
                continue
            self.result.statuses += len(group)
            body = self._body(customer, {"statuses": group})
            last = max(int(s["timestamp"]) for s in group)  # type: ignore[call-overload]
            if number == 2:
                last = max(last, later_at)
            self._deliver(body, last, messages=0, statuses=len(group))

    def _late_reply_error(self) -> tuple[int, str, str]:
        return (
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the "
            "customer last replied to this number.",
        )

    def _echo(self, customer: _Customer, sent_s: int) -> None:
        """A reply typed in the WhatsApp Business app: an `smb_message_echoes` body, then statuses."""
        self.result.features["echoes"] += 1
        display, _ = customer.business
        echo_id = self._wamid()
        echo = {
            "from": display,
            **customer.addressee,
            "id": echo_id,
            "timestamp": str(sent_s),
            "type": "text",
            "text": {"body": self.text.body(customer.locale, multiline=False)},
        }
        self.result.webhook_messages += 1
        self.result.languages[customer.locale.code] += 1
        body = self._body(customer, {"message_echoes": [echo]}, field="smb_message_echoes")
        self._deliver(body, sent_s, messages=1, statuses=0)
        self._reply_statuses(customer, sent_s, reply_id=echo_id)

    def _template(self, customer: _Customer, sent_s: int) -> None:
        """A template sent days after the customer's last message, outside the service window."""
        if sent_s >= self.end_s:
            return
        self.result.features["templates"] += 1
        category = self.rng.choice(("marketing", "marketing", "utility", "authentication"))
        error = None
        if category == "marketing" and customer.opted_out:
            error = (
                131050,
                "Unable to deliver the message. This recipient has chosen to stop receiving "
                "marketing messages on WhatsApp from your business",
                "User stopped marketing messages",
            )
        self._reply_statuses(customer, sent_s, category=category, error=error)

    def _malformed_body(self, start: int, days: int) -> None:
        """A body cut short in transit: it must land in the quarantine, not stop the window."""
        rng = self.rng
        self.result.malformed_bodies += 1
        moment = start + rng.randrange(days) * 86400 + rng.randrange(86400 - 60)
        body = (
            b'{"object":"whatsapp_business_account","entry":[{"id":"'
            + WABA_ID.encode()
            + b'","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_'
        )
        self._store(body, moment * 1_000_000 + rng.randrange(1_000_000))


# -- command line ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Generate a landing zone and print what was written as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, required=True, help="distinct messages to write")
    parser.add_argument("--out", type=Path, required=True, help="landing zone folder (created)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--webhook-share", type=float, default=DEFAULT_WEBHOOK_SHARE)
    parser.add_argument(
        "--start", type=datetime.fromisoformat, default=DEFAULT_START, help="UTC, e.g. 2024-01-01"
    )
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    parser.add_argument(
        "--business",
        action="append",
        metavar="DISPLAY:PHONE_NUMBER_ID",
        help="a business number the webhooks go to (repeatable; default: two test numbers)",
    )
    args = parser.parse_args(argv)
    businesses = tuple(tuple(b.split(":", 1)) for b in args.business or ()) or BUSINESSES
    start = args.start if args.start.tzinfo else args.start.replace(tzinfo=UTC)
    generated = generate_landing(
        args.out,
        messages=args.messages,
        seed=args.seed,
        webhook_share=args.webhook_share,
        start=start,
        days=args.days,
        businesses=businesses,  # type: ignore[arg-type]
    )
    print(json.dumps(generated.summary(), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
