"""The receiver's Prometheus metrics, in a registry of its own so several apps can coexist."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REJECT_REASONS = (
    "signature_missing",
    "signature_invalid",
    "too_large",
    "bad_length",
    "verify_failed",
)


class ReceiverMetrics:
    """Received bodies, duplicates, rejections by reason, bytes and write latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.received = Counter(
            "wareader_webhook_received",
            "Verified webhook bodies acknowledged with 200 (repeats included).",
            registry=self.registry,
        )
        self.duplicates = Counter(
            "wareader_webhook_duplicates",
            "Acknowledged bodies that were already stored today (Meta re-deliveries).",
            registry=self.registry,
        )
        self.rejected = Counter(
            "wareader_webhook_rejected",
            "Requests refused, by reason.",
            ["reason"],
            registry=self.registry,
        )
        for reason in REJECT_REASONS:
            self.rejected.labels(reason=reason)
        self.previous_secret_used = Counter(
            "wareader_webhook_previous_secret",
            "Bodies accepted with the previous app secret during a rotation's grace period.",
            registry=self.registry,
        )
        self.received_bytes = Counter(
            "wareader_webhook_received_bytes",
            "Bytes of verified webhook bodies.",
            registry=self.registry,
        )
        self.write_failures = Counter(
            "wareader_webhook_write_failures",
            "Verified bodies that could not be stored (answered 503, Meta retries).",
            registry=self.registry,
        )
        self.write_seconds = Histogram(
            "wareader_webhook_write_seconds",
            "Time to store one body durably in the landing zone.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
