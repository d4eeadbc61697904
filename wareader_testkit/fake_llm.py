"""A fake model provider on 127.0.0.1 speaking OpenAI chat completions and Anthropic messages.

It answers like a well-behaved model (valid summary JSON, sentiment verdicts for exactly
the ids it was sent) unless told otherwise: scripted behaviours are consumed one per
request (`429` with Retry-After, `500`, `slow`, `malformed`, `401`, `400`), and rules
misbehave for every request whose text contains a marker. Every request is logged with
its arrival time, so tests can measure waits and rates from the server's side.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wareader_pipelines.llm.prompts import LANGUAGE_NAMES
from wareader_testkit.loopback import wait_for_port

_CODES_BY_NAME = {name: code for code, name in LANGUAGE_NAMES.items()}
_POSITIVE = re.compile(r"great|thanks|gracias|danke|super|obrigad|amables|😍|👍", re.IGNORECASE)
_NEGATIVE = re.compile(r"not|nicht|broken|😡|👎", re.IGNORECASE)


@dataclass(frozen=True)
class Behaviour:
    """How to answer one request: `ok`, `status`, `slow`, `malformed` or `wrong_ids`."""

    kind: str = "ok"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


OK = Behaviour()
MALFORMED = Behaviour("malformed")
# A sentiment answer that leaves out the first id and rates one that was never sent.
WRONG_IDS = Behaviour("wrong_ids")


def status(code: int, **headers: str) -> Behaviour:
    """Answer with HTTP `code` and these headers (use retry_after="1" for Retry-After)."""
    return Behaviour(
        "status", code, {key.replace("_", "-"): value for key, value in headers.items()}
    )


def slow(seconds: float) -> Behaviour:
    """Answer correctly, after `seconds`."""
    return Behaviour("slow", delay=seconds)


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw it."""

    arrived_at: float  # time.monotonic() when the handler started
    wire: str  # "openai" or "anthropic"
    path: str
    body: dict[str, Any]
    system: str
    user: str
    headers: dict[str, str]
    behaviour: str

    @property
    def purpose(self) -> str:
        if "rate the sentiment" in self.system:
            return "sentiment"
        if "could not be used" in self.system:
            return "repair"
        if "combine partial summaries" in self.system:
            return "combine"
        return "summary"


class FakeLLMServer:
    """The server's state, shared with its handler threads."""

    def __init__(self) -> None:
        self.latency = 0.0
        self._lock = threading.Lock()
        self.script: deque[Behaviour] = deque()
        self.rules: list[tuple[str, Behaviour]] = []
        self.log: list[LoggedRequest] = []
        # Port 0: the OS picks a free port as it binds, so parallel workers never race for one.
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.port = self._http.server_address[1]
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        wait_for_port(self.port)

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def reset(self) -> None:
        with self._lock:
            self.latency = 0.0
            self.script.clear()
            self.rules.clear()
            self.log.clear()

    def enqueue(self, *behaviours: Behaviour) -> None:
        """The next requests get these behaviours, in order; later ones get `ok`."""
        with self._lock:
            self.script.extend(behaviours)

    def misbehave_when(self, marker: str, behaviour: Behaviour) -> None:
        """Every request whose text contains `marker` gets `behaviour`."""
        with self._lock:
            self.rules.append((marker, behaviour))

    def requests(self, purpose: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.log if purpose is None or r.purpose == purpose]

    def record(
        self, wire: str, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> Behaviour:
        system, user = _texts_of(wire, body)
        with self._lock:
            arrived = time.monotonic()
            behaviour = next(
                (rule for marker, rule in self.rules if marker in user or marker in system), None
            )
            if behaviour is None:
                behaviour = self.script.popleft() if self.script else OK
            self.log.append(
                LoggedRequest(arrived, wire, path, body, system, user, headers, behaviour.kind)
            )
            return behaviour


def _texts_of(wire: str, body: dict[str, Any]) -> tuple[str, str]:
    messages = body.get("messages", [])
    if wire == "anthropic":
        system = body.get("system", "")
        if isinstance(system, list):
            system = " ".join(block.get("text", "") for block in system)
    else:
        system = " ".join(m["content"] for m in messages if m.get("role") == "system")
    user = " ".join(
        m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
        for m in messages
        if m.get("role") == "user"
    )
    return system, user


_REPAIR = re.compile(
    r"\AOriginal instructions:\n(.*?)\n\nOriginal input:\n(.*)\n\nYour answer:\n", re.DOTALL
)


def answer_text(system: str, user: str) -> str:
    """What a model that follows our prompts would answer (a repair: the original's answer)."""
    repair = _REPAIR.match(user) if "could not be used" in system else None
    if repair:
        return answer_text(repair.group(1), repair.group(2))
    if "rate the sentiment" in system:
        payload = json.loads(user)
        results = []
        for message in payload["messages"]:
            text = message["text"]
            if _NEGATIVE.search(text):
                label, score = "negative", -0.6
            elif _POSITIVE.search(text):
                label, score = "positive", 0.7
            else:
                label, score = "neutral", 0.0
            results.append({"id": message["id"], "label": label, "score": score})
        results.reverse()  # ids, not positions, must carry the mapping
        return json.dumps({"results": results})
    language = "en"
    found = re.search(r"action items in ([A-Za-z]+)\.", user)
    if found:
        language = _CODES_BY_NAME.get(found.group(1), found.group(1))
    lines = user.count("\n")
    part = re.search(r"Part (\d+) of (\d+)", user)
    label = (
        f" (part {part.group(1)} of {part.group(2)})" if part and "combine" not in system else ""
    )
    return json.dumps(
        {
            "summary": f"The customer and the business exchanged {lines} lines{label}.",
            "topics": ["orders", "delivery"],
            "action_items": ["Check the order status"],
            "language": language,
        }
    )


def _handler_for(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            path = self.path.split("?")[0]
            wire = "anthropic" if path.endswith("/messages") else "openai"
            behaviour = server.record(wire, self.path, body, dict(self.headers.items()))
            delay = server.latency + behaviour.delay
            if delay:
                time.sleep(delay)
            if behaviour.kind == "status":
                self._error(wire, behaviour)
                return
            system, user = _texts_of(wire, body)
            text = (
                "Sure! Here is the JSON: {summary: oops"
                if behaviour.kind == "malformed"
                else answer_text(system, user)
            )
            if behaviour.kind == "wrong_ids":
                results = json.loads(text)["results"]
                text = json.dumps({"results": [*results[:-1], {**results[-1], "id": "999"}]})
            usage_in = math.ceil(len(system + user) / 4)
            usage_out = math.ceil(len(text) / 4)
            model = body.get("model", "fake")
            if wire == "anthropic":
                payload: dict[str, Any] = {
                    "id": f"msg_{len(server.log)}",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": usage_in, "output_tokens": usage_out},
                }
            else:
                payload = {
                    "id": f"chatcmpl-{len(server.log)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": usage_in,
                        "completion_tokens": usage_out,
                        "total_tokens": usage_in + usage_out,
                    },
                }
            self._send(200, payload, {})

        def _error(self, wire: str, behaviour: Behaviour) -> None:
            message = f"fake provider says {behaviour.status}"
            if wire == "anthropic":
                payload = {"type": "error", "error": {"type": "api_error", "message": message}}
            else:
                payload = {"error": {"message": message, "type": "error", "code": None}}
            self._send(behaviour.status, payload, behaviour.headers)

        def _send(self, code: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left: that is what `slow` tests

    return Handler
