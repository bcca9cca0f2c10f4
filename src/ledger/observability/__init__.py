"""Operations: Prometheus series and structured JSON logs (their HTTP glue lives in ``api/``)."""

from ledger.observability.logs import configure_logging
from ledger.observability.metrics import instrument_store

__all__ = [
    "configure_logging",
    "instrument_store",
]
