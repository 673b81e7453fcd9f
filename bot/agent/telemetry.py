"""Traces of the agent's work (agent runs, model calls, tool calls) through Strands' OpenTelemetry support.

Nothing is exported unless OTEL_EXPORTER_OTLP_ENDPOINT names an OTLP/HTTP collector; then
the spans Strands emits go there in batches. The exporter is an optional extra
(`pip install 'penny[otel]'`); asking for traces without it stops start-up with that hint.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.config import ConfigError, Settings

logger = logging.getLogger(__name__)


def setup_tracing(settings: Settings) -> Any | None:
    """Export Strands' spans to the configured OTLP endpoint; returns the tracer provider, or None."""
    if not settings.otel_endpoint:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: F401
        from strands.telemetry import StrandsTelemetry
    except ImportError:
        raise ConfigError(
            [
                "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter is not installed: pip install 'penny[otel]'."
            ]
        ) from None
    endpoint = settings.otel_endpoint.rstrip("/") + "/v1/traces"
    telemetry = StrandsTelemetry().setup_otlp_exporter(endpoint=endpoint)
    logger.info("endpoint=<%s> | exporting agent traces over OTLP/HTTP", endpoint)
    return telemetry.tracer_provider
