"""conversation_archives materialized with real local resources: DuckDB, a folder or moto S3,
the outbox, and a webhook receiver."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import shutil
import zipfile
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import dagster as dg
import pandas as pd

from wareader_pipelines.defs.archives.assets import conversation_archives
from wareader_pipelines.lib import tables
from wareader_pipelines.lib.partitions import daily_partitions, monthly_partitions
from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.parsing.chat_export import parse_export
from wareader_pipelines.resources.blob_store import BlobStore
from wareader_pipelines.resources.duckdb_warehouse import DuckDBBackend
from wareader_pipelines.resources.email import EmailNotifier
from wareader_pipelines.resources.export_webhooks import ExportWebhooks
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.warehouse import DEFAULT_SCHEMA, Warehouse, WarehouseIOManager
from wareader_pipelines_tests.archives.frames import export_zip, raw_messages, summaries
from wareader_pipelines_tests.servers.aws import FlakyProxy, MotoServer
from wareader_pipelines_tests.servers.http_recorder import HttpRecorder

MAY = "2024-05-01"
SAMPLE_EXPORT = "exports/WhatsApp Chat - Família Silva.zip"
SAMPLE_LANDING = Path(__file__).resolve().parents[2] / "sample_data" / "landing"
RAW_SPEC = dg.AssetSpec(
    "raw_messages",
    partitions_def=daily_partitions,
    metadata={"dagster/column_schema": tables.RAW_MESSAGES, "partition_expr": "sent_at"},
)
SUMMARIES_SPEC = dg.AssetSpec(
    "conversation_summaries",
    partitions_def=daily_partitions,
    metadata={
        "dagster/column_schema": tables.CONVERSATION_SUMMARIES,
        "partition_expr": "day_start",
    },
)
# the month's pictures: absent here, so archives are built without report.png
REPORTS_SPEC = dg.AssetSpec(
    "conversation_reports",
    partitions_def=monthly_partitions,
    metadata={
        "dagster/column_schema": tables.CONVERSATION_REPORTS,
        "partition_expr": "period_start",
    },
)
SUMMARIES_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn(name, type_)
        for name, type_ in [
            ("conversation_id", "text"),
            ("day", "date"),
            ("day_start", "timestamptz"),
            ("summary", "text"),
            ("topics", "text"),
            ("action_items", "text"),
            ("message_count", "integer"),
            ("provider", "text"),
            ("model", "text"),
            ("prompt_version", "text"),
        ]
    ]
)


def _warehouse_with(path: Path, messages: pd.DataFrame, day_summaries: pd.DataFrame | None) -> str:
    backend = DuckDBBackend(str(path), schema=DEFAULT_SCHEMA)
    backend.replace_rows("raw_messages", tables.RAW_MESSAGES, messages, None)
    if day_summaries is not None:
        backend.replace_rows("conversation_summaries", SUMMARIES_SCHEMA, day_summaries, None)
    return str(path)


def _resources(url: str, blob_store: BlobStore, outbox: Path, **overrides: object) -> dict:
    return {
        "io_manager": WarehouseIOManager(url=url),
        "warehouse": Warehouse(url=url),
        "blob_store": blob_store,
        "email": EmailNotifier(outbox_dir=str(outbox), default_recipients="ana@example.org"),
        "export_webhooks": ExportWebhooks(),
        "settings": PipelineSettings(pseudonym_key="k", cache_dir=str(outbox.parent / "cache")),
        "landing_zone": LandingZone(uri=str(outbox.parent / "landing")),
    } | overrides


def _run(resources: dict, config: dict | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [RAW_SPEC, SUMMARIES_SPEC, REPORTS_SPEC, conversation_archives],
        partition_key=MAY,
        resources=resources,
        run_config={"ops": {"conversation_archives": {"config": config}}} if config else None,
    )


def _table(url: str) -> pd.DataFrame:
    return Warehouse(url=url).query(
        "SELECT * FROM {schema}.conversation_archives ORDER BY conversation_id"
    )


def test_month_archived_once_then_unchanged_rebuild_sends_nothing(tmp_path: Path) -> None:
    messages = pd.concat([raw_messages("conv-1"), raw_messages("conv-2")], ignore_index=True)
    messages["message_id"] = messages["message_id"] + "-" + messages["conversation_id"]
    url = _warehouse_with(tmp_path / "w.duckdb", messages, summaries("conv-1"))
    outbox = tmp_path / "outbox"
    resources = _resources(url, BlobStore(uri=str(tmp_path / "archives")), outbox)

    first = _run(resources)
    assert first.success
    table = _table(url)
    assert list(table["conversation_id"]) == ["conv-1", "conv-2"]
    assert list(table["summary_count"]) == [2, 0]  # conv-2 has no summaries: built anyway
    assert list(table["message_count"]) == [4, 4] and table["uploaded"].all()
    assert table["notified_at"].notna().all() and table["download_url_expires_at"].notna().all()
    assert (table["email_status"] == "sent to 1 via outbox").all()
    zip_path = tmp_path / "archives" / "archives" / "conv-1" / "2024-05.zip"
    assert table.loc[0, "uri"] == zip_path.resolve().as_uri()
    with zipfile.ZipFile(io.BytesIO(zip_path.read_bytes())) as archive:
        assert "summaries.md" in archive.namelist()
        assert json.loads(archive.read("manifest.json"))["period"]["month"] == "2024-05"
    emails = sorted(outbox.glob("*.eml"))
    assert len(emails) == 2
    notice = message_from_bytes(emails[0].read_bytes(), policy=policy.default)
    assert "file://" in notice.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    metadata = first.asset_materializations_for_node("conversation_archives")[0].metadata
    assert metadata["uploaded"].value == 2 and metadata["notices_sent"].value == 2

    second = _run(resources)
    assert second.success
    again = _table(url)
    assert list(again["sha256"]) == list(table["sha256"])
    assert not again["uploaded"].any()
    assert list(again["notified_at"]) == list(table["notified_at"])
    assert list(again["built_at"]) == list(table["built_at"])
    assert len(list(outbox.glob("*.eml"))) == 2  # nothing sent again
    metadata = second.asset_materializations_for_node("conversation_archives")[0].metadata
    assert metadata["unchanged"].value == 2 and metadata["notices_sent"].value == 0

    changed = messages.copy()
    changed.loc[changed["message_id"] == "m3-conv-2", "text"] = "new words"
    _warehouse_with(tmp_path / "w.duckdb", changed, summaries("conv-1"))
    assert _run(resources).success
    third = _table(url)
    assert list(third["uploaded"]) == [False, True]
    assert third.loc[1, "sha256"] != table.loc[1, "sha256"]
    assert len(list(outbox.glob("*.eml"))) == 3


def test_no_recipient_means_no_email_and_a_line_in_the_metadata(tmp_path: Path) -> None:
    url = _warehouse_with(tmp_path / "w.duckdb", raw_messages(), None)
    outbox = tmp_path / "outbox"
    resources = _resources(
        url,
        BlobStore(uri=str(tmp_path / "archives")),
        outbox,
        email=EmailNotifier(outbox_dir=str(outbox)),
    )

    result = _run(resources, {"allow_phone_numbers": True})

    assert result.success and not outbox.exists()
    metadata = result.asset_materializations_for_node("conversation_archives")[0].metadata
    assert metadata["email_notes"].value == ["conv-1 2024-05: no recipient configured"]
    row = _table(url).iloc[0]
    assert row["email_status"] == "no recipient configured" and pd.isna(row["notified_at"])
    assert row["phone_numbers"] == "included"


def test_on_s3_with_a_webhook_unchanged_rebuild_uploads_and_sends_nothing(
    tmp_path: Path, moto_server: MotoServer, flaky_s3: FlakyProxy, http_recorder: HttpRecorder
) -> None:
    bucket = moto_server.new_bucket()
    url = _warehouse_with(tmp_path / "w.duckdb", raw_messages(), summaries())
    store = BlobStore(
        uri=f"s3://{bucket}/exports",
        s3=moto_server.s3_resource(endpoint_url=flaky_s3.endpoint_url),
    )
    hooks = ExportWebhooks(urls=[http_recorder.url("/hook")], signing_secret="s")
    resources = _resources(url, store, tmp_path / "outbox", export_webhooks=hooks)

    assert _run(resources).success
    puts_after_first = flaky_s3.count("PUT")
    assert _run(resources).success

    assert flaky_s3.count("PUT") == puts_after_first  # no object (and no rule) written again
    [request] = http_recorder.requests
    event = request.json()
    assert event["type"] == "export.completed"
    key = "exports/archives/conv-1/2024-05.zip"
    assert event["data"]["uri"] == f"s3://{bucket}/{key}"
    head = moto_server.client().head_object(Bucket=bucket, Key=key)
    assert head["Metadata"]["sha256"] == event["data"]["sha256"]
    assert head["Metadata"]["conversation"] == "conv-1" and head["Metadata"]["period"] == "2024-05"
    assert head["ServerSideEncryption"] == "AES256"
    rules = moto_server.client().get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in rules] == ["wareader-archives-exports"]


def test_a_failing_webhook_receiver_does_not_fail_the_archive(
    tmp_path: Path, http_recorder: HttpRecorder
) -> None:
    http_recorder.default_status = 503
    url = _warehouse_with(tmp_path / "w.duckdb", raw_messages(), None)
    hooks = ExportWebhooks(
        urls=[http_recorder.url("/hook")],
        signing_secret="s",
        max_attempts=2,
        backoff_base_seconds=0.01,
    )
    resources = _resources(
        url, BlobStore(uri=str(tmp_path / "archives")), tmp_path / "outbox", export_webhooks=hooks
    )

    result = _run(resources)

    assert result.success
    metadata = result.asset_materializations_for_node("conversation_archives")[0].metadata
    assert metadata["failed_webhooks"].value == [f"{http_recorder.url('/hook')}: HTTP 503"]
    row = _table(url).iloc[0]
    assert row["webhook_status"].startswith("delivered 0/1; failed:")
    assert pd.notna(row["notified_at"])  # the e-mail went out
    assert len(http_recorder.requests) == 2


def test_a_month_without_messages_gives_no_rows(tmp_path: Path) -> None:
    url = _warehouse_with(tmp_path / "w.duckdb", raw_messages().iloc[0:0], None)
    resources = _resources(url, BlobStore(uri=str(tmp_path / "a")), tmp_path / "outbox")
    assert _run(resources).success
    assert _table(url).empty and not (tmp_path / "a").exists()


def test_archive_automation_is_not_limited_to_the_latest_month() -> None:
    """A changed day of an old month re-archives that month, and only that month."""

    @dg.asset(name="raw_messages", partitions_def=daily_partitions)
    def upstream_messages() -> None: ...

    @dg.asset(name="conversation_summaries", partitions_def=daily_partitions)
    def upstream_summaries() -> None: ...

    @dg.asset(name="conversation_reports", partitions_def=monthly_partitions)
    def upstream_reports() -> None: ...

    assets = dg.Definitions(
        assets=[conversation_archives, upstream_messages, upstream_summaries, upstream_reports],
        # Deciding what to run initializes no resource: placeholders suffice.
        resources=dict.fromkeys(
            conversation_archives.required_resource_keys - {"io_manager"},
            dg.ResourceDefinition.none_resource(),
        ),
    )
    archives = dg.AssetKey("conversation_archives")
    selection = dg.AssetSelection.assets(archives)
    with dg.DagsterInstance.ephemeral() as instance:
        first = dg.evaluate_automation_conditions(assets, instance, asset_selection=selection)
        instance.report_runless_asset_event(
            dg.AssetMaterialization("raw_messages", partition="2024-03-10")
        )
        second = dg.evaluate_automation_conditions(
            assets, instance, asset_selection=selection, cursor=first.cursor
        )
        assert second.get_requested_partitions(archives) == {"2024-03-01"}
        third = dg.evaluate_automation_conditions(
            assets, instance, asset_selection=selection, cursor=second.cursor
        )
        assert third.get_requested_partitions(archives) == set()  # handled: not asked again


def test_only_the_days_of_the_month_are_archived(tmp_path: Path) -> None:
    may = raw_messages()
    outside = may.iloc[[0, 0]].copy()
    outside["message_id"] = ["april-30", "june-1"]
    outside["sent_at"] = pd.to_datetime(["2024-04-30T23:59:59Z", "2024-06-01T00:00:00Z"], utc=True)
    outside["text"] = ["last of april", "first of june"]
    url = _warehouse_with(tmp_path / "w.duckdb", pd.concat([may, outside]), None)
    store = BlobStore(uri=str(tmp_path / "archives"))
    resources = _resources(url, store, tmp_path / "outbox")

    assert _run(resources).success

    assert list(_table(url)["message_count"]) == [4]
    with zipfile.ZipFile(io.BytesIO(store.get_bytes("archives/conv-1/2024-05.zip"))) as archive:
        transcript = archive.read("transcript.txt").decode()
    assert "Hola!" in transcript
    assert "last of april" not in transcript and "first of june" not in transcript


def test_a_closed_month_is_archived_and_a_changed_day_rebuilds_only_its_month() -> None:
    instance = dg.DagsterInstance.ephemeral()
    unused = dg.ResourceDefinition.none_resource()  # evaluation runs nothing
    defs = dg.Definitions(
        assets=[RAW_SPEC, SUMMARIES_SPEC, REPORTS_SPEC, conversation_archives],
        resources={
            key: unused
            for key in (
                "blob_store",
                "email",
                "export_webhooks",
                "warehouse",
                "settings",
                "landing_zone",
            )
        },
    )
    archives = dg.AssetKey("conversation_archives")

    def tick(at: datetime, cursor: object = None) -> dg.EvaluateAutomationConditionsResult:
        return dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=cursor, evaluation_time=at
        )

    in_may = tick(datetime(2024, 5, 31, 12, tzinfo=UTC))
    assert in_may.get_requested_partitions(archives) == set()  # May is still open
    june = tick(datetime(2024, 6, 1, 1, tzinfo=UTC), in_may.cursor)
    assert june.get_requested_partitions(archives) == {"2024-05-01"}  # May closed
    idle = tick(datetime(2024, 6, 1, 2, tzinfo=UTC), june.cursor)
    assert idle.get_requested_partitions(archives) == set()

    instance.report_runless_asset_event(
        dg.AssetMaterialization("raw_messages", partition="2024-04-13")  # a late April day
    )
    changed = tick(datetime(2024, 6, 1, 3, tzinfo=UTC), idle.cursor)
    assert changed.get_requested_partitions(archives) == {"2024-04-01"}


def test_export_media_are_archived_under_media_only_verified_and_unchanged_on_rebuild(
    tmp_path: Path,
) -> None:
    key = "exports/WhatsApp Chat - Family.zip"
    landing = tmp_path / "landing"
    (landing / "exports").mkdir(parents=True)
    photo = b"\xff\xd8 photo"
    (landing / key).write_bytes(
        export_zip(
            {
                "IMG-20240513-WA0001.jpg": photo,
                "../../x.jpg": b"x bytes",
                "/abs/y.jpg": b"y bytes",
                "..\\z.jpg": b"tampered",
            }
        )
    )
    messages = raw_messages()
    extra = messages.iloc[[1, 1, 1]].copy()
    extra["message_id"] = ["mx", "my", "mz"]
    extra["media_filename"] = ["x.jpg", "y.jpg", "z.jpg"]
    messages = pd.concat([messages, extra], ignore_index=True)
    digests = {
        "IMG-20240513-WA0001.jpg": photo,
        "x.jpg": b"x bytes",
        "y.jpg": b"y bytes",
        "z.jpg": b"z bytes",  # the zip holds other bytes under this name
    }
    messages["media_sha256"] = messages["media_filename"].map(
        lambda name: hashlib.sha256(digests[name]).hexdigest() if isinstance(name, str) else None
    )
    messages["source_file"] = key
    url = _warehouse_with(tmp_path / "w.duckdb", messages, None)
    store = BlobStore(uri=str(tmp_path / "archives"))
    resources = _resources(url, store, tmp_path / "outbox")

    first = _run(resources)

    assert first.success
    metadata = first.asset_materializations_for_node("conversation_archives")[0].metadata
    assert metadata["media_included"].value == 3
    assert metadata["media_skipped"].value == [
        f"conv-1 2024-05: {key}: z.jpg does not match its sha256, skipped"
    ]
    assert _table(url).loc[0, "media_count"] == 3
    data = store.get_bytes("archives/conv-1/2024-05.zip")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert sorted(n for n in names if n.startswith("media/")) == [
            "media/IMG-20240513-WA0001.jpg",
            "media/x.jpg",
            "media/y.jpg",
        ]
        assert all(".." not in n and not n.startswith("/") for n in names)
        assert archive.read("media/x.jpg") == b"x bytes"
    assert not (tmp_path / "x.jpg").exists() and not (tmp_path.parent / "x.jpg").exists()

    second = _run(resources)
    assert second.success
    assert store.get_bytes("archives/conv-1/2024-05.zip") == data
    assert not _table(url)["uploaded"].any()


def test_the_sample_exports_three_media_land_in_the_familia_silva_archive(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "exports").mkdir(parents=True)
    shutil.copy(SAMPLE_LANDING / SAMPLE_EXPORT, landing / SAMPLE_EXPORT)
    parsed = parse_export(
        SAMPLE_EXPORT,
        (landing / SAMPLE_EXPORT).read_bytes(),
        pseudonyms=Pseudonymizer("k"),
        landed_at=datetime(2024, 6, 1, tzinfo=UTC),
        timezone="Europe/Lisbon",
    )
    messages = pd.DataFrame([dataclasses.asdict(m) for m in parsed.messages])
    messages = messages.reindex(columns=[c.name for c in tables.RAW_MESSAGES.columns])
    assert messages["media_sha256"].notna().sum() == 3
    url = _warehouse_with(tmp_path / "w.duckdb", messages, None)
    store = BlobStore(uri=str(tmp_path / "archives"))

    result = _run(_resources(url, store, tmp_path / "outbox"))

    assert result.success
    [row] = _table(url).to_dict("records")
    assert row["media_count"] == 3
    with zipfile.ZipFile(
        io.BytesIO(store.get_bytes(f"archives/{row['conversation_id']}/2024-05.zip"))
    ) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        media = {n: archive.read(n) for n in archive.namelist() if n.startswith("media/")}
    assert manifest["conversation_name"] == "Família Silva"
    with zipfile.ZipFile(SAMPLE_LANDING / SAMPLE_EXPORT) as sample:
        expected = {f"media/{n}": sample.read(n) for n in sample.namelist() if n != "_chat.txt"}
    assert media == expected


def test_the_months_report_png_goes_into_the_archive_and_a_rebuild_changes_nothing(
    tmp_path: Path,
) -> None:
    url = _warehouse_with(tmp_path / "w.duckdb", raw_messages("conv-1"), None)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    report = pd.DataFrame(
        {
            "conversation_id": ["conv-1"],
            "period": ["2024-05"],
            "period_start": [pd.Timestamp("2024-05-01", tz="UTC")],
            "message_count": [4],
            "status": ["rendered"],
            "input_sha256": ["0" * 64],
            "png_sha256": [hashlib.sha256(png).hexdigest()],
            "png_bytes": [len(png)],
            "png_base64": [base64.b64encode(png).decode()],
        }
    )
    DuckDBBackend(url, schema=DEFAULT_SCHEMA).replace_rows(
        "conversation_reports", tables.CONVERSATION_REPORTS, report, None
    )
    resources = _resources(url, BlobStore(uri=str(tmp_path / "archives")), tmp_path / "outbox")
    assert _run(resources).success
    zip_path = tmp_path / "archives" / "archives" / "conv-1" / "2024-05.zip"
    with zipfile.ZipFile(io.BytesIO(zip_path.read_bytes())) as archive:
        assert archive.read("report.png") == png
    first = _table(url)

    assert _run(resources).success
    again = _table(url)
    assert list(again["sha256"]) == list(first["sha256"]) and not again["uploaded"].any()
