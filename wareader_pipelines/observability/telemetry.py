"""OpenTelemetry traces and metrics for the calls that cost time or money.

The instruments are created once on a `Telemetry` object built from a tracer and
a meter provider. By default those are the OpenTelemetry API's global providers,
which do nothing until `configure_from_environment` installs real ones (when
`OTEL_EXPORTER_OTLP_ENDPOINT` is set, exported over OTLP/HTTP, which Datadog,
Grafana, Honeycomb and most vendors ingest). Tests install providers with
in-memory readers through `install`. Attributes never carry message text,
phone numbers or secrets: only provider, model, table, route and status.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, trace

SERVICE_NAME_DEFAULT = "wareader-pipelines"

# Metric names, also listed in docs/operations.md (alerts refer to them).
LLM_CALLS = "wareader.llm.calls"
LLM_TOKENS = "wareader.llm.tokens"
LLM_COST = "wareader.llm.cost_usd"
LLM_DURATION = "wareader.llm.duration"
GRAPH_REQUESTS = "wareader.graph_api.requests"
GRAPH_DURATION = "wareader.graph_api.duration"
WAREHOUSE_ROWS = "wareader.warehouse.rows_written"
WAREHOUSE_DURATION = "wareader.warehouse.write.duration"
RECEIVER_REQUESTS = "wareader.receiver.requests"
RECEIVER_DURATION = "wareader.receiver.duration"


@dataclass
class Telemetry:
    """A tracer and the project's instruments, created from one pair of providers."""

    tracer_provider: Any = None
    meter_provider: Any = None
    enabled: bool = False
    tracer: Any = field(init=False)

    def __post_init__(self) -> None:
        tracer_provider = self.tracer_provider or trace.get_tracer_provider()
        meter_provider = self.meter_provider or metrics.get_meter_provider()
        self.tracer = tracer_provider.get_tracer("wareader_pipelines")
        meter = meter_provider.get_meter("wareader_pipelines")
        self.llm_calls = meter.create_counter(LLM_CALLS, "{call}", "Model calls sent.")
        self.llm_tokens = meter.create_counter(
            LLM_TOKENS, "{token}", "Tokens billed, by direction (input/output)."
        )
        self.llm_cost = meter.create_counter(LLM_COST, "USD", "List-price cost of model calls.")
        self.llm_duration = meter.create_histogram(LLM_DURATION, "s", "Latency of a model call.")
        self.graph_requests = meter.create_counter(
            GRAPH_REQUESTS, "{request}", "Graph API requests, by HTTP status."
        )
        self.graph_duration = meter.create_histogram(
            GRAPH_DURATION, "s", "Latency of a Graph API request."
        )
        self.warehouse_rows = meter.create_counter(
            WAREHOUSE_ROWS, "{row}", "Rows written to the warehouse, by table."
        )
        self.warehouse_duration = meter.create_histogram(
            WAREHOUSE_DURATION, "s", "Time to replace one table window in the warehouse."
        )
        self.receiver_requests = meter.create_counter(
            RECEIVER_REQUESTS, "{request}", "Webhook receiver requests, by route and status."
        )
        self.receiver_duration = meter.create_histogram(
            RECEIVER_DURATION, "s", "Time to answer one webhook receiver request."
        )

    def record_llm_call(
        self,
        *,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        seconds: float,
        cost_usd: float | None,
        outcome: str = "ok",
    ) -> None:
        """Count one model call, its tokens, cost (when the price is known) and latency."""
        attributes = {"provider": provider, "model": model, "outcome": outcome}
        self.llm_calls.add(1, attributes)
        self.llm_duration.record(seconds, attributes)
        base = {"provider": provider, "model": model}
        self.llm_tokens.add(input_tokens, {**base, "direction": "input"})
        self.llm_tokens.add(output_tokens, {**base, "direction": "output"})
        if cost_usd is not None:
            self.llm_cost.add(cost_usd, base)

    @contextmanager
    def span(self, name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """A span around a block; an exception marks it failed (type only, never its text)."""
        with self.tracer.start_as_current_span(
            name,
            attributes=dict(attributes or {}),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as error:
                span.set_attribute("error.type", type(error).__name__)
                span.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
                raise

    @contextmanager
    def warehouse_write(self, *, table: str, backend: str, rows: int) -> Iterator[None]:
        """Span and metrics around replacing one table window."""
        started = time.perf_counter()
        attributes = {"db.table": table, "db.system": backend}
        with self.span("warehouse.replace_rows", {**attributes, "db.rows": rows}):
            yield
        self.warehouse_rows.add(rows, {"table": table, "backend": backend})
        self.warehouse_duration.record(
            time.perf_counter() - started, {"table": table, "backend": backend}
        )


_current: Telemetry | None = None


def current() -> Telemetry:
    """The installed telemetry (no-op instruments unless providers were configured)."""
    global _current
    if _current is None:
        _current = Telemetry()
    return _current


def install(telemetry: Telemetry | None) -> Telemetry | None:
    """Make `telemetry` the current one (None: back to the global providers); returns the old."""
    global _current
    previous, _current = _current, telemetry
    return previous


def configure_from_environment(environ: Mapping[str, str] | None = None) -> bool:
    """Export traces and metrics over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

    The exporters read the standard `OTEL_*` variables themselves (endpoint, headers
    such as a vendor's API key, `OTEL_SERVICE_NAME`). Returns whether it configured.
    """
    env = os.environ if environ is None else environ
    if not (
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return False
    if _current is not None and _current.enabled:
        return True
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {"service.name": env.get("OTEL_SERVICE_NAME") or SERVICE_NAME_DEFAULT}
    )
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    meter_provider = MeterProvider(
        resource=resource, metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())]
    )
    install(Telemetry(tracer_provider, meter_provider, enabled=True))
    return True
