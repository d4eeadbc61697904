"""The cache of parsed webhook bodies: exact rows back, keyed by content, safe to read."""

from __future__ import annotations

import os
import pickle
from datetime import date
from pathlib import Path

import pytest

from wareader_pipelines.landing.layout import parse_webhook_key, webhook_day_prefix
from wareader_pipelines.landing.parsed_bodies import (
    KEEP_DAYS,
    ParsedBodies,
    body_digest,
    cached_parse,
    decode,
    encode,
    parse_body,
)
from wareader_pipelines.nlp.pseudonyms import DEVELOPMENT_KEY, Pseudonymizer

SAMPLE = Path(__file__).parents[2] / "sample_data" / "landing"
PSEUDONYMS = Pseudonymizer(DEVELOPMENT_KEY)


def _sample_bodies() -> list[tuple[str, bytes]]:
    files = sorted((SAMPLE / "webhooks").glob("*/*.json"))
    return [(path.relative_to(SAMPLE).as_posix(), path.read_bytes()) for path in files]


def test_every_sample_body_comes_back_exactly_as_parsed() -> None:
    kinds = set()
    for key, body in _sample_bodies():
        landed = parse_webhook_key(key)
        assert landed is not None
        parsed = parse_body(body, key=key, landed_at=landed.received_at, pseudonyms=PSEUDONYMS)
        assert decode(encode(parsed)) == parsed
        kinds |= {
            name
            for name in ("messages", "statuses", "errors", "quarantine")
            if getattr(parsed, name)
        }
    assert kinds == {"messages", "statuses", "errors", "quarantine"}  # every row type covered


class _Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned",))


def test_a_tampered_entry_runs_nothing_and_reads_as_a_miss() -> None:
    blob = pickle.dumps(([_Boom()], [], [], []))
    with pytest.raises(pickle.UnpicklingError):
        decode(blob)
    assert cached_parse((body_digest(b"x"), blob), body_digest(b"x")) is None


def test_entries_are_found_by_key_and_day_only_for_the_same_bytes_and_pruned(
    tmp_path: Path,
) -> None:
    cache = ParsedBodies(tmp_path, PSEUDONYMS)
    assert cache.entries(["webhooks/x"]) == {} and not cache.path.exists()  # nothing created
    key, body = _sample_bodies()[0]
    landed = parse_webhook_key(key)
    assert landed is not None
    blob = encode(parse_body(body, key=key, landed_at=landed.received_at, pseudonyms=PSEUDONYMS))
    cache.store([(key, body_digest(body), blob)])
    assert cache.entries([key, "webhooks/other"]) == {key: (body_digest(body), blob)}
    assert cache.entries_between(landed.day, landed.day) == {key: (body_digest(body), blob)}
    assert cache.entries_between(date(2024, 4, 1), date(2024, 4, 30)) == {}
    assert cached_parse(cache.entries([key])[key], body_digest(body + b" ")) is None
    # Another pseudonym key (other ids in the rows) uses another file.
    assert ParsedBodies(tmp_path, Pseudonymizer("another key")).entries([key]) == {}
    # A body received KEEP_DAYS + 1 days later prunes the old entry.
    late_day = date.fromordinal(landed.day.toordinal() + KEEP_DAYS + 1)
    late_key = webhook_day_prefix(late_day) + key.rsplit("/", 1)[1]
    cache.store([(late_key, "0" * 64, blob)])
    assert cache.entries([key, late_key]) == {late_key: ("0" * 64, blob)}
