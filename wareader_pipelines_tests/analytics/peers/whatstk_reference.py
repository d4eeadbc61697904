"""Records what whatstk itself computes for the peer fixtures, into whatstk_reference.json.

whatstk is not part of the runtime lock (nor installed in CI): run this by hand in a
separate environment whenever a fixture changes, and commit the JSON it writes:

    python -m venv /tmp/whatstk && /tmp/whatstk/bin/pip install whatstk==0.9.1
    /tmp/whatstk/bin/python wareader_pipelines_tests/analytics/peers/whatstk_reference.py

For every file: whatstk's message count per username, its response matrix
(`whatstk.analysis.get_response_matrix`, absolute counts, own responses zeroed) as
non-zero (responder, respondee, count) triples, and the usernames of its messages in
order (so a test can drop the "users" that are really system lines and apply whatstk's
rule, consecutive different senders, to the rest). Files whatstk cannot read are
recorded with its error, so the agreement test knows why they are missing.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "whatstk_reference.json"


def peer_fixtures() -> Path:
    """The shared peer fixtures beside the repository (`../shared`), wherever it is."""
    candidates = [parent / "shared/fixtures/peer_exports" for parent in HERE.parents]
    for candidate in candidates:
        if (candidate / "INDEX.md").is_file():
            return candidate
    raise AssertionError(f"peer fixtures not found; looked in {[str(c) for c in candidates]}")


def fixture_files() -> dict[str, Path]:
    """Fixture name (relative to its folder root) -> path: the peers' files and ours."""
    peers = peer_fixtures()
    files = {f"peer_exports/{p.relative_to(peers)}": p for p in sorted(peers.rglob("*.txt"))}
    files |= {f"generated/{p.name}": p for p in sorted((HERE / "generated").glob("*.txt"))}
    return files


def main() -> None:
    import whatstk
    from whatstk import WhatsAppChat
    from whatstk.analysis import get_response_matrix

    reference: dict[str, object] = {"whatstk": whatstk.__version__, "files": {}}
    for name, path in fixture_files().items():
        try:
            chat = WhatsAppChat.from_source(filepath=str(path))
        except Exception as error:  # recorded: the test says which files whatstk cannot read
            reference["files"][name] = {"error": f"{type(error).__name__}: {error}"}  # type: ignore[index]
            continue
        counts = chat.df["username"].value_counts()
        matrix = get_response_matrix(chat=chat)
        pairs = [
            [str(responder), str(respondee), int(matrix.loc[responder, respondee])]
            for responder in matrix.index
            for respondee in matrix.columns
            if int(matrix.loc[responder, respondee]) > 0
        ]
        reference["files"][name] = {  # type: ignore[index]
            "messages_per_sender": {str(k): int(v) for k, v in sorted(counts.items())},
            "responses": sorted(pairs),
            "senders_in_order": [str(u) for u in chat.df["username"]],
        }
    OUTPUT.write_text(json.dumps(reference, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
