"""What may leave the process in an error report: no secrets, phone numbers, e-mails or text.

Pure functions over Sentry's event dictionaries (no Sentry import), so the rules
are tested directly. Values under secret-looking keys are dropped; the values of
secret environment variables are replaced wherever they appear; phone numbers,
e-mail addresses and WhatsApp ids become placeholders (the analysts' masker,
`nlp.pii.redact`); and every quoted fragment
of a message (`'...'`, `"..."`, `«...»`) is treated as data, since that is how
this code base's errors quote the text they choke on, and replaced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from wareader_pipelines.nlp.pii import redact

REDACTED = "[redacted]"

SECRET_KEY = re.compile(
    r"(secret|token|password|passwd|api[_-]?key|authorization|cookie|dsn|signature|credential|"
    r"private[_-]?key|session)",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"'[^'\n]{1,2000}'|\"[^\"\n]{1,2000}\"|«[^»\n]{1,2000}»|“[^”\n]{1,2000}”")
# Sentry event parts that may carry bodies, local variables or free text.
_DROPPED_PARTS = ("request", "extra", "user", "breadcrumbs")


def secret_values(environ: Mapping[str, str], *, shortest: int = 6) -> list[str]:
    """Values of environment variables whose names look secret (long enough to be one)."""
    values = {
        value
        for name, value in environ.items()
        if SECRET_KEY.search(name) and len(value) >= shortest
    }
    return sorted(values, key=lambda value: (-len(value), value))


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with secrets, quoted fragments, e-mails and phone numbers replaced."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return redact(_QUOTED.sub(REDACTED, text))


def redact_secret_keys(value: Any) -> Any:
    """A JSON-like value whose secret-looking keys lost their values (recursively)."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if isinstance(key, str) and SECRET_KEY.search(key)
            else redact_secret_keys(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_secret_keys(item) for item in value]
    return value


def scrub_event(event: dict[str, Any], secrets: Iterable[str] = ()) -> dict[str, Any]:
    """A Sentry event safe to send.

    Parts that carry bodies, local variables or free text are dropped; the free-text
    fields kept (message, log entry, exception values, tag values) are scrubbed; every
    mapping loses the values of its secret-looking keys. Ids, timestamps and stack
    frames' file/function/line stay, so the event is still useful.
    """
    secrets = list(secrets)
    for part in _DROPPED_PARTS:
        event.pop(part, None)
    if isinstance(event.get("message"), str):
        event["message"] = scrub_text(event["message"], secrets)
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        for key in ("message", "formatted"):
            if isinstance(logentry.get(key), str):
                logentry[key] = scrub_text(logentry[key], secrets)
        logentry.pop("params", None)
    for exception in (event.get("exception") or {}).get("values", []) or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = scrub_text(exception["value"], secrets)
        for frame in (exception.get("stacktrace") or {}).get("frames", []) or []:
            frame.pop("vars", None)
            # Source lines around the frame can hold literals (test data, sample text).
            frame.pop("pre_context", None)
            frame.pop("post_context", None)
            frame.pop("context_line", None)
    tags = event.get("tags")
    if isinstance(tags, dict):
        event["tags"] = {key: scrub_text(str(value), secrets) for key, value in tags.items()}
    return redact_secret_keys(event)
