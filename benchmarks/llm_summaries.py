"""Benchmark: 1,000 conversation-days summarized through the rate-limited LLM client.

The provider is the test suite's fake OpenAI-compatible server on 127.0.0.1 answering
every request after 300 ms; the client is limited to 600 requests per minute. The
baseline is the floor that limit allows: 1,000 requests / 600 per minute = 100 s.
The goal is a wall time within 10% of it (the limit, not the client, is the bottleneck).

    .venv/bin/python benchmarks/llm_summaries.py [--days 1000] [--rpm 600] [--latency 0.3]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wareader_pipelines.llm.chunking import TranscriptLine
from wareader_pipelines.llm.summarize import ConversationDay
from wareader_pipelines.resources.llm import LLMResource
from wareader_testkit.fake_llm import FakeLLMServer


def conversation_days(count: int) -> list[ConversationDay]:
    """`count` small conversation-days of eight messages each, all different."""
    start = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    return [
        ConversationDay(
            f"conv-{n:05d}",
            date(2024, 5, 1),
            tuple(
                TranscriptLine(
                    start + timedelta(minutes=m),
                    "AB"[m % 2],
                    f"Message {m} of conversation {n}: where is my order {n * 13 + m}?",
                    "en",
                )
                for m in range(8)
            ),
        )
        for n in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1_000)
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=8)
    arguments = parser.parse_args()

    server = FakeLLMServer()
    server.latency = arguments.latency
    server.start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            llm = LLMResource(
                provider="local",
                model="bench-model",
                base_url=server.openai_base_url,
                requests_per_minute=arguments.rpm,
                max_concurrency=arguments.concurrency,
                cache_path=str(Path(scratch) / "llm.sqlite"),
            )
            days = conversation_days(arguments.days)
            began = time.monotonic()
            run = llm.summarize(days)
            wall = time.monotonic() - began
    finally:
        server.stop()

    arrivals = sorted(r.arrived_at for r in server.requests())
    busiest = max(
        sum(1 for t in arrivals[i : i + arguments.rpm + 1] if t < s + 60.0)
        for i, s in enumerate(arrivals)
    )
    floor = arguments.days / arguments.rpm * 60.0
    failures = sum(1 for outcome in run.outcomes if outcome.failure)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"conversation-days     {arguments.days}")
    print(f"requests made         {run.stats.api_calls} (failures {failures})")
    print(
        f"limit                 {arguments.rpm} requests/min, concurrency {arguments.concurrency}"
    )
    print(f"server latency        {arguments.latency * 1000:.0f} ms")
    print(f"wall time             {wall:.1f} s")
    print(f"floor (baseline)      {floor:.1f} s  = {arguments.days} / {arguments.rpm} per minute")
    print(f"wall / floor          {wall / floor:.3f}  (goal <= 1.10)")
    print(f"throughput            {arguments.days / wall:.2f} conversation-days/s")
    print(f"busiest 60 s window   {busiest} requests (limit {arguments.rpm})")
    print(f"peak memory (RSS)     {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
