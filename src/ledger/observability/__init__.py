"""Operations: Prometheus metrics, structured JSON logs and the per-request log line."""

from ledger.observability.logs import configure_logging
from ledger.observability.metrics import ScrapeController, instrument_store
from ledger.observability.requests import RequestLogMiddleware

__all__ = [
    "RequestLogMiddleware",
    "ScrapeController",
    "configure_logging",
    "instrument_store",
]
