"""The Pipeline dashboard (Prometheus): ingest rate and outcomes, rejections by code, consumer lag, freshness, dead
letters and API latency. Metric names: pulse_common.telemetry.catalog."""

from __future__ import annotations

from pulse_common.grafana.model import Dashboard, Panel, PromQl

INGEST_ROUTES = "/v1/(batch|track|identify|page|screen|group|alias|sessions|feedback)|/api/.*"


def dashboard() -> Dashboard:
    return Dashboard(
        uid="pulse-pipeline",
        title="Pulse · Pipeline",
        description="The pipeline's own health: ingest, consumers, freshness, dead letters, API latency",
        time_from="now-6h",
        rows=(
            (
                Panel(
                    "timeseries",
                    "Ingest events by outcome",
                    "Events per second accepted, duplicate, rejected, or refused with 503 (broker unavailable).",
                    (PromQl("sum by (outcome) (rate(pulse_ingest_events_total[$__rate_interval]))", "{{outcome}}"),),
                    unit="ops",
                ),
                Panel(
                    "timeseries",
                    "Rejections by code",
                    "Events rejected at ingest per second, by rejection code.",
                    (
                        PromQl(
                            "sum by (stream, code) "
                            '(rate(pulse_ingest_events_total{outcome="rejected"}[$__rate_interval]))',
                            "{{stream}} {{code}}",
                        ),
                    ),
                    unit="ops",
                ),
            ),
            (
                Panel(
                    "timeseries",
                    "Ingest requests by status",
                    "Requests per second to the ingest endpoints by HTTP status (5xx: retry later, nothing lost).",
                    (
                        PromQl(
                            "sum by (status) "
                            f'(rate(pulse_http_requests_total{{route=~"{INGEST_ROUTES}"}}[$__rate_interval]))',
                            "{{status}}",
                        ),
                    ),
                    unit="reqps",
                ),
                Panel(
                    "timeseries",
                    "Publish latency (p50, p95)",
                    "From the request's events handed to the producer to the broker's acks=all.",
                    (
                        PromQl(
                            "histogram_quantile(0.5, sum by (le) "
                            "(rate(pulse_ingest_publish_duration_seconds_bucket[$__rate_interval])))",
                            "p50",
                        ),
                        PromQl(
                            "histogram_quantile(0.95, sum by (le) "
                            "(rate(pulse_ingest_publish_duration_seconds_bucket[$__rate_interval])))",
                            "p95",
                        ),
                    ),
                    unit="s",
                ),
            ),
            (
                Panel(
                    "timeseries",
                    "Consumer lag",
                    "Records of each projection's topics not yet applied (high-water mark - stored offset).",
                    (PromQl("max by (projection) (pulse_consumer_lag_records)", "{{projection}}"),),
                    unit="short",
                ),
                Panel(
                    "timeseries",
                    "Freshness",
                    "Now - as_of of each projection: how old the newest figures of the read APIs are.",
                    (PromQl("max by (projection) (pulse_projection_freshness_seconds)", "{{projection}}"),),
                    unit="s",
                ),
            ),
            (
                Panel(
                    "timeseries",
                    "Events applied",
                    "Events per second each projection applied (duplicates skipped are not counted).",
                    (
                        PromQl(
                            "sum by (projection) (rate(pulse_consumer_events_applied_total[$__rate_interval]))",
                            "{{projection}}",
                        ),
                    ),
                    unit="ops",
                ),
                Panel(
                    "timeseries",
                    "Dead letters",
                    "Records sent to the dead-letter topic by consumers (by reason) and rejected at ingest.",
                    (
                        PromQl(
                            "sum by (projection, reason) "
                            "(increase(pulse_consumer_dead_lettered_total[$__rate_interval]))",
                            "{{projection}} {{reason}}",
                        ),
                        PromQl(
                            'sum(increase(pulse_ingest_events_total{outcome="rejected"}[$__rate_interval]))',
                            "ingest rejections",
                        ),
                    ),
                    unit="short",
                ),
            ),
            (
                Panel(
                    "timeseries",
                    "Read API latency p95 by route",
                    "95th percentile of request duration per route template.",
                    (
                        PromQl(
                            "histogram_quantile(0.95, sum by (route, le) "
                            '(rate(pulse_http_request_duration_seconds_bucket{route=~"/v1/projects/.*"}'
                            "[$__rate_interval])))",
                            "{{route}}",
                        ),
                    ),
                    unit="s",
                ),
                Panel(
                    "timeseries",
                    "Batch apply time p95",
                    "95th percentile of one batch's transaction per projection.",
                    (
                        PromQl(
                            "histogram_quantile(0.95, sum by (projection, le) "
                            "(rate(pulse_consumer_batch_apply_seconds_bucket[$__rate_interval])))",
                            "{{projection}}",
                        ),
                    ),
                    unit="s",
                ),
            ),
        ),
    )
