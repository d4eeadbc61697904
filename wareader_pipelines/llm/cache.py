"""A durable cache of model answers, so re-materializing an unchanged partition calls no API.

The key is the SHA-256 of provider, model, prompt version and the SHA-256 of the exact
request (system prompt, user text, output budget, JSON mode): any change to what would
be sent is a miss. Only answers that passed validation are stored, so a failed row is
tried again on the next run. SQLite in WAL mode lets parallel runs share the file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

from wareader_pipelines.llm.models import ChatReply, ChatRequest

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    text TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    created_at REAL NOT NULL
)
"""


def sha256_text(text: str) -> str:
    """Hex SHA-256 of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def request_sha256(request: ChatRequest) -> str:
    """SHA-256 of everything in a request that can change the answer."""
    canonical = json.dumps(
        [request.system, request.user, request.max_output_tokens, request.json_mode],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return sha256_text(canonical)


def cache_key(provider: str, model: str, prompt_version: str, input_sha256: str) -> str:
    """The cache key of one request to one model."""
    return sha256_text("\x1f".join([provider, model, prompt_version, input_sha256]))


class ResponseCache:
    """Validated answers on disk, by (provider, model, prompt version, input SHA-256)."""

    def __init__(self, path: str | Path, *, provider: str, model: str, prompt_version: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.provider = provider
        self.model = model
        self.prompt_version = prompt_version
        self._connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute(_SCHEMA)

    def _key(self, request: ChatRequest) -> tuple[str, str]:
        input_sha = request_sha256(request)
        return cache_key(self.provider, self.model, self.prompt_version, input_sha), input_sha

    def get(self, request: ChatRequest) -> ChatReply | None:
        """The stored answer to `request`, or None."""
        key, _ = self._key(request)
        row = self._connection.execute(
            "SELECT text, input_tokens, output_tokens FROM responses WHERE key = ?", [key]
        ).fetchone()
        if row is None:
            return None
        return ChatReply(text=row[0], input_tokens=row[1], output_tokens=row[2], from_cache=True)

    def put(self, request: ChatRequest, reply: ChatReply) -> None:
        """Remember a validated answer to `request` (the latest one wins)."""
        key, input_sha = self._key(request)
        self._connection.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key,
                self.provider,
                self.model,
                self.prompt_version,
                input_sha,
                reply.text,
                reply.input_tokens,
                reply.output_tokens,
                time.time(),
            ],
        )

    def __len__(self) -> int:
        return int(self._connection.execute("SELECT count(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._connection.close()
