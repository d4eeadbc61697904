"""Our counts per sender and reply matrix against what whatstk computes for the same files.

whatstk's numbers were recorded by whatstk 0.9.1 itself (`whatstk_reference.py`, kept out
of the runtime lock and of CI). Ours come from our parser and our dbt marts on DuckDB.
whatstk counts a reply for any two consecutive messages of different senders; ours only
inside a session. With the session gap made endless the definitions match, and so must
the numbers, except where whatstk's reading differs, each case pinned below:

- system lines: whatstk keeps a system line that carries the group's name as a message
  by a "user" (pokemon.txt's "Pokemon Chat") and drops author-less ones; we type both as
  system lines, outside counts and replies;
- chat-miner's `a. m.` / `p. m.` file: whatstk reads 2 of its messages, we read all;
  its other files' `John Doe:.` (no space after the colon) is a continuation of the
  previous message for whatstk and a message of its own for us (chat-miner drops it);
- messages sent in the same minute follow the export's line order in both.
- sessions: with the default 120-minute gap, a change of sender after hours or days of
  silence is no reply for us; whatstk counts it (asserted below: ours are fewer).
- skin tones: whatstk has no emoji count per sender to compare; ours keep 👍🏽 one emoji.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import UTC, datetime

import pandas as pd
import pytest

from wareader_pipelines.lib import tables
from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.parsing.chat_export import parse_export
from wareader_pipelines.resources.warehouse import backend_for, conform_to_schema
from wareader_pipelines_tests.analytics.peers.whatstk_reference import OUTPUT, fixture_files
from wareader_pipelines_tests.analytics.test_dbt_marts import dbt_build

RAW_ONLY = ["source", "export_timezone", "location"]
CLEANED_ONLY = ["sender_id", "is_media"]
REFERENCE = json.loads(OUTPUT.read_text())["files"]
ENDLESS = {"session_gap_minutes": 10**9}
# where whatstk reads the file differently (see the module docstring)
WHATSTK_SYSTEM_USERS = {
    "peer_exports/whatstk/chats/whatsapp/pokemon.txt": {"Pokemon Chat"},
    "generated/colocation-lyon-ios.txt": {"Colocation Lyon"},
}
CHAT_MINER = "peer_exports/chat-miner/test/whatsapp/"
# messages whatstk folds into the previous one (`John Doe:.`), per file and sender
WHATSTK_FOLDS = {
    f"{CHAT_MINER}{name}": {"John Doe": 1}
    for name in (
        "test_[mmddyy]_24hrs.txt",
        "test_ddmmyy_24hrs.txt",
        "test_mmddyy_24hrs.txt",
        "test_yyyymmdd_24hrs.txt",
    )
}
WHATSTK_MISREADS = {"peer_exports/chat-miner/test/whatsapp/test_mmddyyyy_12hrs.txt"}


def _warehouse(url: str) -> None:
    """Every fixture as one conversation; sender ids are the export names (test only)."""
    rows = []
    for name, path in fixture_files().items():
        parsed = parse_export(
            path.name,
            path.read_bytes(),
            pseudonyms=Pseudonymizer("peers"),
            landed_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
        rows += [
            {
                "message_id": f"{name}:{m.message_id}",
                "conversation_id": name,
                "sender_id": m.sender_name,
                "sent_at": m.sent_at,
                "message_type": m.message_type,
                "is_system": m.is_system,
                "is_media": False,
                "source": "export",
                "export_timezone": "UTC",
                "location": m.location,
            }
            for m in parsed.messages
        ]
    frame = pd.DataFrame(rows)
    backend = backend_for(url, "wareader")
    for table, schema, data in [
        ("cleaned_messages", tables.CLEANED_MESSAGES, frame.drop(columns=RAW_ONLY)),
        ("raw_messages", tables.RAW_MESSAGES, frame.drop(columns=CLEANED_ONLY)),
        ("message_sentiment", tables.MESSAGE_SENTIMENT, pd.DataFrame(columns=["message_id"])),
        ("message_emoji", tables.MESSAGE_EMOJI, pd.DataFrame(columns=["message_id"])),
    ]:
        backend.replace_rows(table, schema, conform_to_schema(data, schema, table), None)


def _ours(url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    backend = backend_for(url, "marts")
    messages = backend.query(
        "select conversation_id, sender_id, count(*) as messages from marts.fct_messages "
        "where not is_system group by 1, 2"
    )
    matrix = backend.query("select * from marts.reply_matrix")
    return messages, matrix


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[pd.DataFrame, ...]]:
    folder = tmp_path_factory.mktemp("peers")
    found = {}
    for label, gap in [("endless", ENDLESS), ("sessions", {})]:
        url = str(folder / f"{label}.duckdb")
        _warehouse(url)
        select = ["--select", "fct_messages", "fct_replies", "reply_matrix", "fct_sessions"]
        select += ["--indirect-selection", "cautious"]
        dbt_build(url, folder / label, *select, "--vars", json.dumps(gap))
        found[label] = _ours(url)
    return found


def _consecutive_pairs(senders: list[str]) -> Counter[tuple[str, str]]:
    return Counter(
        (later, earlier) for earlier, later in itertools.pairwise(senders) if earlier != later
    )


def _pairs(matrix: pd.DataFrame, name: str) -> Counter[tuple[str, str]]:
    mine = matrix[matrix.conversation_id == name]
    return Counter(
        {(f, t): int(n) for f, t, n in zip(mine.from_id, mine.to_id, mine.replies, strict=True)}
    )


@pytest.mark.parametrize("name", sorted(set(fixture_files()) - WHATSTK_MISREADS))
def test_counts_per_sender_and_replies_agree_with_whatstk(
    built: dict[str, tuple[pd.DataFrame, ...]], name: str
) -> None:
    theirs = REFERENCE[name]
    messages, matrix = built["endless"]
    ours = messages[messages.conversation_id == name]
    system_users = WHATSTK_SYSTEM_USERS.get(name, set())
    expected = Counter(
        {u: n for u, n in theirs["messages_per_sender"].items() if u not in system_users}
    )
    expected.update(WHATSTK_FOLDS.get(name, {}))
    assert dict(zip(ours.sender_id, ours.messages.astype(int), strict=True)) == expected

    # whatstk's rule on whatstk's own reading: a response is a message right after one
    # of another sender. Applied to its sequence it gives its own matrix back...
    sequence = theirs["senders_in_order"]
    assert _consecutive_pairs(sequence) == Counter(
        {(responder, respondee): n for responder, respondee, n in theirs["responses"]}
    )
    # ...and, without the system-line "users", exactly our reply matrix.
    our_pairs = _pairs(matrix, name)
    assert our_pairs == _consecutive_pairs([u for u in sequence if u not in system_users])

    # With sessions (the default gap) a reply after long silence is not one: fewer or equal.
    _, with_sessions = built["sessions"]
    sessions = _pairs(with_sessions, name)
    assert all(sessions[pair] <= count for pair, count in our_pairs.items())
    assert sum(sessions.values()) <= sum(our_pairs.values())


def test_whatstk_misreads_the_spanish_12_hour_file_that_we_read_whole(
    built: dict[str, tuple[pd.DataFrame, ...]],
) -> None:
    name = next(iter(WHATSTK_MISREADS))
    messages, _ = built["endless"]
    ours = messages[messages.conversation_id == name]
    assert sum(REFERENCE[name]["messages_per_sender"].values()) == 2
    assert ours.messages.sum() == 7  # the same 7 sender messages as the other four layouts
