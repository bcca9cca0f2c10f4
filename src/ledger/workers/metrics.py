"""Prometheus series of the worker framework (registered with the process's default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

WORKER_RESTARTS = Counter("ledger_worker_restarts", "Times a supervised worker loop failed "
                          "and was restarted after a backoff", ["worker"])
WORKER_ITEM_FAILURES = Counter("ledger_worker_item_failures", "Items a worker failed on "
                               "(before quarantining them)", ["worker"])
WORKER_QUARANTINED = Counter("ledger_worker_quarantined", "Items this process quarantined",
                             ["worker"])
WORKER_SKIPPED = Counter("ledger_worker_skipped", "Items a worker skipped, by reason (e.g. an "
                         "event of a case the projection does not know)", ["worker", "reason"])
QUARANTINE_HELD = Gauge("ledger_worker_quarantine_held", "Items held in quarantine now, per "
                        "worker (from the database)", ["worker"], multiprocess_mode="mostrecent")
