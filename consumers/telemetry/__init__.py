"""What a worker tells the outside: metrics, traces, logs, lag and health.

    metrics      in-process aggregates per job type (counts, durations, latencies) and the
                 gauges read at scrape time (buffered, running, blocked, lag, time lag)
    prometheus   /metrics in the Prometheus text format, from a metrics snapshot
    otel         the same snapshot as OpenTelemetry instruments, exported over OTLP
    providers    which tracer and meter providers a worker uses, and their shutdown
    settings     the telemetry settings (OTLP endpoint, service name, ...)
    tracing      a span per attempt, continued from the producer's `traceparent`
    logs         the job's fields on every log line while its handler runs
    lag          consumer lag per partition, from librdkafka's statistics
    health       /livez, /readyz and /metrics over HTTP

Metrics, tracing and logs implement the pipeline's `Observer` hooks
(`keel.consumers.pipeline.observer`): the engine calls them and knows nothing of what they do.
Nothing is imported here, so reading `settings` does not load exporters.
"""
