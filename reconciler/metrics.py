"""Prometheus metrics: every counter and gauge bosun exports, in one place.

Not a stage. Modules import the metric they update from here; the metrics
issue serves them at ``/metrics`` from the default registry. Add new metrics
here so that names, labels and help texts stay consistent: ``bosun_`` prefix,
``_total`` for counters, ``_seconds`` for durations, small fixed label sets.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WEBHOOK_REQUESTS = Counter(
    "bosun_webhook_requests_total",
    "Webhook requests received, by forge and by what bosun did with them.",
    ["provider", "result"],
)
"""``result``: accepted, ignored, duplicate, unauthorized, too_large, bad_request,
unsupported_event, not_configured."""

RECONCILES = Counter(
    "bosun_reconciles_total",
    "Reconcile runs finished, by trigger and final state.",
    ["trigger", "state"],
)

RECONCILE_SECONDS = Histogram(
    "bosun_reconcile_duration_seconds",
    "Time from taking a reconcile request off the queue to recording its result.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)

SOURCE_FETCHES = Counter(
    "bosun_source_fetches_total",
    "Fetches of the source, by result (ok, failed).",
    ["result"],
)

SOURCE_UP = Gauge(
    "bosun_source_up",
    "1 when the last fetch of the source succeeded, 0 when it failed.",
)

QUEUE_DEPTH = Gauge(
    "bosun_queue_depth",
    "Requests waiting in the work queue (not counting the ones being worked on).",
)

REQUESTS_COLLAPSED = Counter(
    "bosun_queue_collapsed_total",
    "Requests merged into one already waiting for the same key.",
)

SOURCE_FETCH_SECONDS = Histogram(
    "bosun_source_fetch_duration_seconds",
    "Time one fetch of the source took (successful or not).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)

APPLIES = Counter(
    "bosun_apply_total",
    "Changes applied, by kind of resource and outcome (applied, failed, skipped, rolled-back).",
    ["kind", "result"],
)

DRIFT = Counter(
    "bosun_drift_total",
    "Resources found changed on their engine although the repository did not change them.",
    ["kind"],
)

STATUS_COMMITS = Counter(
    "bosun_status_commits_total",
    "Status-branch writes, by result (committed, unchanged, failed).",
    ["result"],
)
