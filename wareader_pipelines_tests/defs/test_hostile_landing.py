"""Hostile landing-zone files through a ranged run of ingestion and cleaning, on both warehouses.

Each file here failed a whole run on the main branch before issue 12: a lone
surrogate (DuckDB: cannot encode as UTF-8), a NUL (PostgreSQL: text cannot
contain NUL), a 5,000-digit integer beside a good message, a NUL byte in an
export. Now the run succeeds, the repaired rows say so, and nothing good is lost.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from wareader_pipelines.defs.enrichment.assets import cleaned_messages
from wareader_pipelines.defs.ingestion.assets import landing_zone_tables
from wareader_pipelines.landing.layout import webhook_key
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.warehouse import Warehouse, WarehouseIOManager
from wareader_pipelines_tests.servers.postgres import PostgresServer

T0 = 1714557600  # 2024-05-01T10:00:00Z
RECEIVED = datetime(2024, 5, 1, 10, 0, 5, tzinfo=UTC)


def _body(mid: str, text_json: str, **extra: object) -> bytes:
    """A webhook body with one text message whose JSON-encoded body is `text_json`, verbatim."""
    message = {"from": "14155550123", "id": mid, "timestamp": str(T0), "type": "text"}
    message.update(extra)
    message["text"] = {"body": "@@"}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": "106", "display_phone_number": "1555"},
                            "messages": [message],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload).replace('"@@"', text_json).encode()


def _hostile_landing(root: Path) -> Path:
    bodies = [
        _body("wamid.SURROGATE", r'"bad \ud800 surrogate"'),
        _body("wamid.NUL", r'"nul \u0000 inside"'),
        _body("wamid.GOOD", '"a good message"', pricing={"huge": int("9" * 4000)}),
    ]
    # A 5,000-digit integer in a second message beside a valid one in the same body.
    both = json.loads(_body("wamid.BESIDE", '"beside the big number"'))
    odd = dict(both["entry"][0]["changes"][0]["value"]["messages"][0], id="wamid.BIG")
    odd["context"] = {"id": "@@big"}
    both["entry"][0]["changes"][0]["value"]["messages"].append(odd)
    bodies.append(json.dumps(both).replace('"@@big"', "1" * 5000).encode())
    for n, body in enumerate(bodies):
        path = root / webhook_key(body, RECEIVED.replace(microsecond=n))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    export = root / "exports" / "WhatsApp Chat with Ana.txt"
    export.parent.mkdir(parents=True)
    lines = [f"01/05/2024, 12:{n:02d} - Ana: line {n}" for n in range(10)]
    lines[3] += "\x00 and a NUL"
    export.write_bytes(("\n".join(lines) + "\n").encode())
    return root


def _run(url: str, tmp_path: Path) -> Warehouse:
    resources = {
        "io_manager": WarehouseIOManager(url=url),
        "warehouse": Warehouse(url=url),
        "landing_zone": LandingZone(uri=str(_hostile_landing(tmp_path / "landing"))),
        "settings": PipelineSettings(pseudonym_key="test-key", cache_dir=str(tmp_path / "cache")),
    }
    result = dg.materialize(
        [landing_zone_tables, cleaned_messages],
        resources=resources,
        tags={
            ASSET_PARTITION_RANGE_START_TAG: "2024-04-30",
            ASSET_PARTITION_RANGE_END_TAG: "2024-05-02",
        },
    )
    assert result.success
    return resources["warehouse"]  # type: ignore[return-value]


def _assert_stored_and_said(warehouse: Warehouse) -> None:
    raw = warehouse.query("SELECT * FROM {schema}.raw_messages ORDER BY message_id")
    by_id = raw.set_index("message_id")
    assert by_id.loc["wamid.SURROGATE", "text"] == "bad \ufffd surrogate"
    assert "lone surrogate" in by_id.loc["wamid.SURROGATE", "text_repairs"]
    assert by_id.loc["wamid.NUL", "text"] == "nul  inside"
    assert "NUL removed" in by_id.loc["wamid.NUL", "text_repairs"]
    assert by_id.loc["wamid.GOOD", "text"] == "a good message"
    assert by_id.loc["wamid.BESIDE", "text"] == "beside the big number"
    assert {"wamid.BIG", "wamid.BESIDE"} <= set(by_id.index)
    exported = raw[raw["source"] == "export"]
    assert len(exported) == 10, "a NUL byte no longer rejects the whole export"
    assert exported["text_repairs"].notna().sum() == 1
    assert warehouse.query("SELECT * FROM {schema}.quarantine").empty
    cleaned = warehouse.query("SELECT message_id, text_clean FROM {schema}.cleaned_messages")
    assert len(cleaned) == len(raw)


def test_hostile_bodies_and_exports_run_on_duckdb(tmp_path: Path) -> None:
    _assert_stored_and_said(_run(str(tmp_path / "warehouse.duckdb"), tmp_path))


@pytest.mark.usefixtures("postgres_server")
def test_hostile_bodies_and_exports_run_on_postgres(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database("hostile")
    _assert_stored_and_said(_run(url, tmp_path))
