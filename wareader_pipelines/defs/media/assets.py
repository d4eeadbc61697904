"""Media of webhook messages, mirrored into the blob store before their ids expire."""

import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from wareader_pipelines.lib import tables
from wareader_pipelines.lib.asset_metadata import counts_by, partition_figures, preview
from wareader_pipelines.lib.code_versions import code_version
from wareader_pipelines.lib.partitions import DAILY_BACKFILL_POLICY, daily_partitions
from wareader_pipelines.parsing.records import frame_of
from wareader_pipelines.resources.blob_store import BlobStore
from wareader_pipelines.resources.whatsapp import DownloadedMedia, WhatsAppCloudAPI
from wareader_pipelines.whatsapp_api import media
from wareader_pipelines.whatsapp_api.errors import WhatsAppTokenExpiredError
from wareader_pipelines.whatsapp_api.media import MediaOutcome, MediaRef, mirror_one

_this = sys.modules[__name__]
# What shapes this stage's rows: a change to any of them marks its assets stale in the UI.
SHAPED_BY = (_this, media)


DOWNLOAD_THREADS = 8
NO_TOKEN = (
    "skipped: no WhatsApp access token is configured (WA_ACCESS_TOKEN unset), so no media "
    "was downloaded; set it to mirror media (ids expire 7 days after the message)"
)


def _refs_of(raw_messages: pd.DataFrame) -> list[MediaRef]:
    rows = raw_messages[raw_messages["media_id"].notna() & (raw_messages["source"] == "webhook")]
    return [
        MediaRef(
            message_id=row.message_id,
            media_id=str(row.media_id),
            conversation_id=row.conversation_id,
            sent_at=pd.Timestamp(row.sent_at).to_pydatetime(),
            message_type=row.message_type,
            mime_type=row.media_mime if isinstance(row.media_mime, str) else None,
            sha256=row.media_sha256 if isinstance(row.media_sha256, str) else None,
        )
        for row in rows.itertuples(index=False)
    ]


@dg.asset(
    key="message_media",
    ins={"raw_messages": dg.AssetIn()},
    partitions_def=daily_partitions,
    backfill_policy=DAILY_BACKFILL_POLICY,
    group_name="media",
    owners=["team:wareader"],
    kinds={"python", "duckdb", "s3"},
    code_version=code_version(*SHAPED_BY),
    pool="whatsapp_cloud_api",
    description=(
        "Images, audio, video, documents and stickers of the day's webhook messages, "
        "downloaded from the Cloud API into the blob store (content-addressed) within "
        "the 7 days their ids live."
    ),
    metadata={
        "dagster/column_schema": tables.MESSAGE_MEDIA,
        "partition_expr": "sent_at",
        "order_by": ["sent_at", "message_id"],
    },
)
def message_media(
    context: dg.AssetExecutionContext,
    raw_messages: pd.DataFrame,
    whatsapp: WhatsAppCloudAPI,
    blob_store: BlobStore,
) -> dg.Output:
    refs = _refs_of(raw_messages)
    if not whatsapp.is_configured:
        context.log.warning(NO_TOKEN)
        # None: the IO manager writes nothing, so rows stored by an earlier run stay.
        waiting = pd.DataFrame({"sent_at": pd.Series([ref.sent_at for ref in refs], dtype=object)})
        return dg.Output(
            None,
            metadata=partition_figures(
                context,
                waiting,
                lambda rows: {"media_messages": len(rows)},
                constants={"skipped": NO_TOKEN},
                count_rows=False,
            ),
        )

    now = datetime.now(UTC)

    def fetch(media_id: str, expected_sha256: str | None) -> DownloadedMedia:
        return whatsapp.download_media(media_id=media_id, expected_sha256=expected_sha256)

    try:
        with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
            outcomes = list(
                pool.map(lambda ref: mirror_one(ref, blobs=blob_store, fetch=fetch, now=now), refs)
            )
    except WhatsAppTokenExpiredError as error:
        raise dg.Failure(description=str(error)) from error
    frame = frame_of(outcomes, MediaOutcome)
    return dg.Output(frame, metadata=partition_figures(context, frame, _figures))


def _figures(rows: pd.DataFrame) -> dict[str, object]:
    """What the UI shows for some of the table's rows (one day's, in a ranged run)."""
    stored = rows[rows["status"] == "stored"]
    return {
        "media_messages": len(rows),
        "by_status": counts_by(rows, "status"),
        "bytes_downloaded": int(stored["bytes"].fillna(0).sum()) if len(stored) else 0,
        "preview": preview(rows, ["sent_at", "message_type", "status", "bytes", "blob_key"]),
    }
