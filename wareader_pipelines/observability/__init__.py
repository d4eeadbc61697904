"""Errors to Sentry, traces and metrics through OpenTelemetry: both off unless configured."""
