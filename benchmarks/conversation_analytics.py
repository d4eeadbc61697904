"""Conversation marts and monthly reports over a 1M-message warehouse: wall time, CPU, memory.

The enrichment tables the marts read (cleaned_messages, raw_messages, message_sentiment,
message_emoji, conversation_summaries) are synthesized straight into a DuckDB warehouse
with the generator's shape at that size (`generate_landing`: 35 export chats of 20,000
messages, 2,000 webhook customers of 150, all of 2024), so the figure is the analytics
stage alone, not ingestion. Then, timed separately:

1. `dbt build` of every model and test (what Dagster's two dbt assets run on a full
   refresh: fct_messages, daily_conversation_metrics, the dimensions and the six
   conversation marts);
2. the twelve monthly `conversation_reports` partitions (the asset's own function over
   the same queries), one PNG per conversation-month with at least `--min-messages`;
3. the account overview.

    .venv/bin/python -m benchmarks.conversation_analytics --messages 1000000 --workdir /tmp/bench-ca
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from wareader_pipelines.lib import tables
from wareader_pipelines.nlp.emoji_usage import message_emoji_frame
from wareader_pipelines.reports import mart_queries as q
from wareader_pipelines.reports.account_overview import AccountOverview, render_account_overview
from wareader_pipelines.reports.conversation_report import conversation_months, report_rows
from wareader_pipelines.resources.warehouse import Warehouse, backend_for, conform_to_schema
from wareader_testkit.dbt_build import run_dbt_build

START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 366
EXPORT_CHAT_MESSAGES = 20_000
CUSTOMER_MESSAGES = 150
WEBHOOK_SHARE = 0.3
EMOJI_TEXTS = ["ok 👍🏽", "😂😂", "❤️", "👨‍👩‍👧‍👦 🎉", "🇧🇷 vamos", "👍", "🙏🏿 gracias", "jaja 😂"]
LANGUAGES = ["en", "es", "pt", "de", "fr", "it"]
SENTIMENT = tables.MESSAGE_SENTIMENT


def synthesize(messages: int, seed: int) -> dict[str, pd.DataFrame]:
    """The enrichment tables for `messages` messages, in the generator's proportions."""
    rng = np.random.default_rng(seed)
    webhook = round(messages * WEBHOOK_SHARE)
    exports = messages - webhook
    chats = max(1, exports // EXPORT_CHAT_MESSAGES)
    customers = max(1, webhook // CUSTOMER_MESSAGES)
    conversation = np.concatenate(
        [rng.integers(0, chats, exports), chats + rng.integers(0, customers, webhook)]
    )
    is_export = conversation < chats
    # group chats of 2..8 senders; a customer talks with the business
    members = rng.integers(2, 9, chats + customers)
    members[chats:] = 2
    sender = (rng.random(messages) * members[conversation]).astype(int)
    seconds = np.sort(rng.integers(0, DAYS * 86400, messages))
    order = rng.permutation(messages)  # messages of all chats interleaved in time
    conversation, sender, is_export = conversation[order], sender[order], is_export[order]
    sent_at = pd.to_datetime(START) + pd.to_timedelta(seconds, unit="s")
    ids = np.char.add("m", np.arange(messages).astype(str))
    conversation_ids = np.char.add("c", conversation.astype(str))
    sender_ids = np.char.add(np.char.add(conversation_ids, "s"), sender.astype(str))
    texted = rng.random(messages)
    text = np.where(
        texted < 0.15, np.array(EMOJI_TEXTS)[rng.integers(0, len(EMOJI_TEXTS), messages)], "text"
    )
    cleaned = pd.DataFrame(
        {
            "message_id": ids,
            "conversation_id": conversation_ids,
            "sender_id": sender_ids,
            "sent_at": sent_at,
            "message_type": np.where(texted > 0.95, "image", "text"),
            "text_clean": text,
            "language": np.array(LANGUAGES)[rng.integers(0, len(LANGUAGES), messages)],
            "is_media": texted > 0.95,
            "is_system": False,
            "is_edited": False,
            "word_count": 3,
            "emoji_count": (texted < 0.15).astype(int),
        }
    )
    raw = pd.DataFrame(
        {
            "message_id": ids,
            "conversation_id": conversation_ids,
            "source": np.where(is_export, "export", "webhook"),
            "sent_at": sent_at,
            "message_type": cleaned["message_type"],
            "export_timezone": np.where(is_export, "Europe/Madrid", None),
            "location": np.where(
                is_export, np.char.add("line ", np.arange(messages).astype(str)), None
            ),
        }
    )
    scored = cleaned[texted < 0.8]
    score = rng.uniform(-1, 1, len(scored))
    sentiment = pd.DataFrame(
        {
            "message_id": scored["message_id"],
            "conversation_id": scored["conversation_id"],
            "sent_at": scored["sent_at"],
            "language": scored["language"],
            "label": np.where(
                score > 0.05, "positive", np.where(score < -0.05, "negative", "neutral")
            ),
            "score": score,
            "method": "vader",
            "model": "vader-3.3.2",
            "provider": "offline",
        }
    )
    return {
        "cleaned_messages": cleaned,
        "raw_messages": raw,
        "message_sentiment": sentiment,
        "message_emoji": message_emoji_frame(cleaned),
        # no business messaging here: the business marts build empty
        "message_statuses": pd.DataFrame({c.name: [] for c in tables.MESSAGE_STATUSES.columns}),
    }


def write(url: str, frames: dict[str, pd.DataFrame]) -> None:
    backend = backend_for(url, "wareader")
    schemas = {
        "cleaned_messages": tables.CLEANED_MESSAGES,
        "raw_messages": tables.RAW_MESSAGES,
        "message_sentiment": SENTIMENT,
        "message_emoji": tables.MESSAGE_EMOJI,
        "message_statuses": tables.MESSAGE_STATUSES,
    }
    for table, frame in frames.items():
        schema = schemas[table]
        backend.replace_rows(table, schema, conform_to_schema(frame, schema, table), None)


def dbt_build(url: str, workdir: Path) -> float:
    """`dbt build` of the whole project against `url`; its wall seconds."""
    started = time.perf_counter()
    done = run_dbt_build(url, workdir / "dbt", "--quiet")
    if done.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{done.stdout[-4000:]}")
    return time.perf_counter() - started


def reports(url: str, min_messages: int) -> tuple[float, int, int]:
    warehouse = Warehouse(url=url)
    started = time.perf_counter()
    months = []
    for month in range(1, 13):
        start = datetime(2024, month, 1, tzinfo=UTC)
        end = datetime(2024 + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        months += conversation_months(
            period=start.strftime("%Y-%m"),
            first_day=date(2024, month, 1),
            days=(end - start).days,
            messages=warehouse.query(q.month_messages(start, end)),
            replies=warehouse.query(q.month_replies(start, end)),
            heatmap=warehouse.query(q.month_heatmap(start)),
            emoji=warehouse.query(q.month_emoji(start, end)),
            summaries=pd.DataFrame(),
        )
    # one run over the year, as a backfill of the twelve partitions runs it
    rows = report_rows(months, min_messages=min_messages, workers=2)
    rendered = int((rows["status"] == "rendered").sum())
    skipped = int((rows["status"] != "rendered").sum())
    return time.perf_counter() - started, rendered, skipped


def overview(url: str) -> float:
    warehouse = Warehouse(url=url)
    started = time.perf_counter()
    totals = warehouse.query(q.ACCOUNT_TOTALS)
    render_account_overview(
        AccountOverview(
            conversations=int(totals["conversations"].iloc[0]),
            messages=int(totals["messages"].iloc[0]),
            participants=int(totals["participants"].iloc[0]),
            by_month=warehouse.query(q.ACCOUNT_BY_MONTH),
            languages=warehouse.query(q.ACCOUNT_LANGUAGES),
            sentiment=warehouse.query(q.ACCOUNT_SENTIMENT),
            hours=warehouse.query(q.ACCOUNT_HOURS),
        )
    )
    return time.perf_counter() - started


def _cpu() -> float:
    """CPU seconds of this process and its finished children (dbt, the drawing workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-conversation-analytics"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--min-messages", type=int, default=20)
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    url = str(args.workdir / f"warehouse-{args.messages}.duckdb")
    Path(url).unlink(missing_ok=True)
    started = time.perf_counter()
    write(url, synthesize(args.messages, args.seed))
    prepared = time.perf_counter() - started
    load_at_start = os.getloadavg()[0]
    cpu = [_cpu()]
    marts = dbt_build(url, args.workdir)
    cpu.append(_cpu())
    report_seconds, rendered, skipped = reports(url, args.min_messages)
    cpu.append(_cpu())
    overview_seconds = overview(url)
    cpu.append(_cpu())
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    phases = [round(after - before, 1) for before, after in itertools.pairwise(cpu)]
    result = {
        "messages": args.messages,
        "synthesize_and_write_seconds": round(prepared, 1),
        "dbt_build_seconds": round(marts, 1),
        "reports_seconds": round(report_seconds, 1),
        "reports_rendered": rendered,
        "reports_skipped": skipped,
        "overview_seconds": round(overview_seconds, 1),
        "marts_and_reports_seconds": round(marts + report_seconds + overview_seconds, 1),
        # CPU of each phase, this process and its children: on an idle machine the wall
        # time of a phase is about its CPU over the cores it uses (dbt's DuckDB uses both;
        # the reports draw in 2 processes)
        "dbt_build_cpu_seconds": phases[0],
        "reports_cpu_seconds": phases[1],
        "overview_cpu_seconds": phases[2],
        "marts_and_reports_cpu_seconds": round(cpu[-1] - cpu[0], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_children_mb": round(children.ru_maxrss / 1024),
        "load_average_1min_start": round(load_at_start, 2),
        "load_average_1min_end": round(os.getloadavg()[0], 2),
        "target_seconds": 90,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
