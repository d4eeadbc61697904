"""Sensors on the landing zone: new webhook bodies run their days, new chat exports backfill."""

import hashlib
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset

from wareader_pipelines.defs.automation.jobs import DAILY_ASSETS, daily_pipeline_job
from wareader_pipelines.landing.layout import (
    EXPORT_PREFIX,
    WEBHOOK_PREFIX,
    is_export_key,
    parse_webhook_key,
)
from wareader_pipelines.landing.parsed_bodies import (
    ParsedBodies,
    body_digest,
    cached_parse,
    encode,
    parse_body,
)
from wareader_pipelines.landing.run_planning import (
    WEBHOOK_LOOKBACK_TAG,
    DayRange,
    ExportCursor,
    day_ranges,
    days_of_parsed_export,
    days_of_webhook,
    fingerprint,
    is_settled,
    lookback_needed,
    run_key,
)
from wareader_pipelines.landing.window import parsed_export
from wareader_pipelines.lib.partitions import (
    HISTORY_START,
    RANGE_END_TAG,
    RANGE_START_TAG,
    daily_partitions,
)
from wareader_pipelines.resources.landing_zone import LandedObject, LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings

# A file this young may still be overtaken by a write in flight (webhooks) or be half copied
# (exports); it waits for the next tick.
SETTLE = timedelta(seconds=30)
MAX_BODIES_PER_TICK = 5_000
MAX_EXPORTS_PER_TICK = 3
MAX_DAYS_PER_RUN = 92  # as the daily backfill policy
READ_THREADS = 8


def _partition_days() -> tuple[date, date]:
    last = daily_partitions.get_last_partition_key()
    return date.fromisoformat(HISTORY_START), date.fromisoformat(str(last))


def _webhook_days(
    zone: LandingZone,
    landed: LandedObject,
    settings: PipelineSettings,
    cached: tuple[str, bytes] | None,
    parsed_now: list[tuple[str, str, bytes]],
    log: logging.Logger | dg.DagsterLogManager,
) -> set[date]:
    """The days one new body touches, from its cached rows or parsed once (and then cached
    in `parsed_now` for ingestion to reuse)."""
    key = parse_webhook_key(landed.key)
    assert key is not None
    if landed.size > settings.webhook_max_bytes:  # never read: its day's run quarantines it
        log.warning(f"{landed.key}: {landed.size:,} bytes, over webhook_max_bytes; running its day")
        return {key.received_at.date()}
    try:
        body = zone.read(landed.key)
        digest = body_digest(body)
        parsed = cached_parse(cached, digest)
        if parsed is None:
            parsed = parse_body(
                body,
                key=landed.key,
                landed_at=key.received_at,
                pseudonyms=settings.pseudonyms(),
            )
            parsed_now.append((landed.key, digest, encode(parsed)))  # list.append: thread-safe
    except Exception as error:  # never stop the sensor: the run of its receive day quarantines it
        log.warning(f"{landed.key}: cannot be read ({type(error).__name__}); running its day")
        return {key.received_at.date()}
    return days_of_webhook(
        parsed.messages,
        parsed.statuses,
        has_other_rows=bool(parsed.quarantine or parsed.errors),
        received_at=key.received_at,
    )


def _request_for(kind: str, days: DayRange, keys: list[str], tags: dict[str, str]) -> dg.RunRequest:
    tags = {"wareader/trigger": kind, **tags}
    if days.days == 1:
        return dg.RunRequest(
            run_key=run_key(kind, days, keys), partition_key=days.first.isoformat(), tags=tags
        )
    return dg.RunRequest(
        run_key=run_key(kind, days, keys),
        tags={
            **tags,
            RANGE_START_TAG: days.first.isoformat(),
            RANGE_END_TAG: days.last.isoformat(),
        },
    )


@dg.sensor(
    name="new_webhook_bodies",
    job=daily_pipeline_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Runs the daily pipeline for exactly the days that newly landed webhook bodies touch "
        "(a late delivery re-runs its old day); lists only keys after its cursor. The rows it "
        "parses are cached, and ingestion reuses them instead of parsing the bodies again."
    ),
)
def new_webhook_bodies(
    context: dg.SensorEvaluationContext, landing_zone: LandingZone, settings: PipelineSettings
) -> dg.SensorResult | dg.SkipReason:
    now = datetime.now(UTC)
    after = context.cursor or None
    batch: list[LandedObject] = []
    last_handled = after
    for landed in landing_zone.list(WEBHOOK_PREFIX, start_after=after):
        key = parse_webhook_key(landed.key)
        if key is not None and not is_settled(key.received_at, now=now, settle=SETTLE):
            break  # keys sort by receive time: everything after this one is younger still
        if key is not None:
            batch.append(landed)
        last_handled = landed.key
        if len(batch) >= MAX_BODIES_PER_TICK:
            break
    if last_handled == after:
        return dg.SkipReason("no new webhook bodies")

    cache = ParsedBodies(settings.cache_dir, settings.pseudonyms())
    cached = cache.entries(landed.key for landed in batch)
    parsed_now: list[tuple[str, str, bytes]] = []
    with ThreadPoolExecutor(READ_THREADS) as pool:
        touched = list(
            pool.map(
                lambda item: _webhook_days(
                    landing_zone, item, settings, cached.get(item.key), parsed_now, context.log
                ),
                batch,
            )
        )
    try:
        cache.store(parsed_now)
    except (sqlite3.Error, OSError) as error:  # ingestion then parses them itself: slower only
        context.log.warning(f"parsed bodies not cached ({type(error).__name__}: {error})")
    first_day, last_day = _partition_days()
    keys_by_day: dict[date, list[str]] = {}
    for landed, days in zip(batch, touched, strict=True):
        for day in days:
            if first_day <= day <= last_day:
                keys_by_day.setdefault(day, []).append(landed.key)
            else:
                context.log.warning(f"{landed.key}: day {day} is outside the partitions; skipped")
    requests = [
        _request_for(
            "webhook",
            span,
            sorted(
                {
                    k
                    for day, keys in keys_by_day.items()
                    if span.first <= day <= span.last
                    for k in keys
                }
            ),
            _lookback_tags(span, keys_by_day, settings, bodies=len(batch)),
        )
        for span in day_ranges(keys_by_day, max_days=MAX_DAYS_PER_RUN)
    ]
    context.log.info(
        f"{len(batch)} new webhook bodies touch {len(keys_by_day)} days: {len(requests)} runs"
    )
    return dg.SensorResult(run_requests=requests, cursor=last_handled)


def _lookback_tags(
    span: DayRange, keys_by_day: dict[date, list[str]], settings: PipelineSettings, *, bodies: int
) -> dict[str, str]:
    """Run tags; a longer look-back when bodies landed long after the days they touch."""
    received = [
        parsed.day
        for day, keys in keys_by_day.items()
        if span.first <= day <= span.last
        for parsed in map(parse_webhook_key, keys)
        if parsed is not None
    ]
    tags = {"wareader/bodies": str(bodies)}
    needed = lookback_needed(span, received)
    if needed > settings.webhook_lookback_days:
        tags[WEBHOOK_LOOKBACK_TAG] = str(needed)
    return tags


def _backfill_of(
    context: dg.SensorEvaluationContext, days: DayRange, tags: dict[str, str]
) -> dg.RunRequest:
    """A backfill (not one run) of every daily asset over `days`, watchable in the UI.

    `RunRequest.for_asset_graph_subset` is Dagster's public way for a sensor to launch a
    backfill, but the `AssetGraphSubset` it takes is exported only from `dagster._core`;
    a plain ranged RunRequest would be one run, ignoring the assets' multi-run policy.
    """
    asset_graph = context.repository_def.asset_graph  # type: ignore[union-attr]
    subset = daily_partitions.empty_subset().with_partition_key_range(
        daily_partitions, dg.PartitionKeyRange(days.first.isoformat(), days.last.isoformat())
    )
    graph_subset = AssetGraphSubset(
        partitions_subsets_by_asset_key=dict.fromkeys(DAILY_ASSETS.resolve(asset_graph), subset)
    )
    return dg.RunRequest.for_asset_graph_subset(graph_subset, tags=tags)


@dg.sensor(
    name="new_chat_exports",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    asset_selection=DAILY_ASSETS,
    description=(
        "Backfills every daily asset over the whole date range of each new chat export "
        "(by content: re-uploading the same file does nothing)."
    ),
)
def new_chat_exports(
    context: dg.SensorEvaluationContext, landing_zone: LandingZone, settings: PipelineSettings
) -> dg.SensorResult | dg.SkipReason:
    now = datetime.now(UTC)
    cursor = ExportCursor.from_json(context.cursor)
    first_day, last_day = _partition_days()
    requests: list[dg.RunRequest] = []
    parsed_now = 0
    listed: set[str] = set()
    for landed in landing_zone.list(EXPORT_PREFIX):
        if not is_export_key(landed.key):
            continue
        listed.add(landed.key)
        mark = fingerprint(landed.size, landed.modified_at)
        if cursor.seen.get(landed.key) == mark or not is_settled(
            landed.modified_at, now=now, settle=SETTLE
        ):
            continue
        if parsed_now >= MAX_EXPORTS_PER_TICK:
            continue  # not marked seen: the next tick takes it
        limits = settings.export_limits()
        # Over a size cap, a file is never read: ingestion quarantines it by its size alone.
        oversize = limits.file_size_problem(landed.key, landed.size) is not None
        with ExitStack() as opened:
            # Streamed, never read whole: hashed, then parsed from the same open file.
            try:
                file = None if oversize else opened.enter_context(landing_zone.open(landed.key))
                digest = (
                    f"oversize-{landed.size}"
                    if file is None
                    else hashlib.file_digest(file, "sha256").hexdigest()  # type: ignore[arg-type]
                )
            except Exception as error:  # gone since it was listed, or unreadable: next tick
                context.log.warning(f"{landed.key}: cannot be read now ({error}); tried again")
                continue
            cursor.seen[landed.key] = mark
            if digest in cursor.imported:
                context.log.info(f"{landed.key}: same content as an export already imported")
                continue
            parsed_now += 1
            try:
                if file is None:
                    raise ValueError(limits.file_size_problem(landed.key, landed.size))
                # Through ingestion's export cache: the backfill's ingestion finds it parsed.
                messages, quarantine = parsed_export(landing_zone, landed, settings, file)
            except Exception as error:  # one bad file must not stop every other export's import
                context.log.warning(
                    f"{landed.key}: the parser failed on it ({type(error).__name__}: {error}); "
                    "running the day it landed, whose ingestion quarantines it"
                )
                landed_day = landed.modified_at.astimezone(UTC).date()
                span = DayRange(landed_day, landed_day)
                messages = None
            else:
                cursor.imported.add(digest)
                span = days_of_parsed_export(messages, quarantine)
                if messages.empty and (quarantine["location"] == "whole file").any():
                    reason = quarantine["reason"].iloc[0]
                    context.log.warning(
                        f"{landed.key}: rejected whole ({reason}); running the day it landed"
                    )
        if span is None:
            context.log.warning(f"{landed.key}: no messages and no rejected lines; nothing to run")
            continue
        span = DayRange(max(span.first, first_day), min(span.last, last_day))
        if span.first > span.last:
            continue
        if messages is not None:
            context.log.info(f"{landed.key}: {len(messages)} messages, backfilling {span}")
        requests.append(
            _backfill_of(
                context,
                span,
                {
                    "wareader/trigger": "chat_export",
                    "wareader/export_key": landed.key[:200],
                    "wareader/export_sha256": digest,
                },
            )
        )
    # Forget files that are gone, so that a later upload under the same name is seen.
    cursor.seen = {key: mark for key, mark in cursor.seen.items() if key in listed}
    if not requests and cursor.to_json() == (context.cursor or ExportCursor().to_json()):
        return dg.SkipReason("no new chat exports")
    return dg.SensorResult(run_requests=requests, cursor=cursor.to_json())
