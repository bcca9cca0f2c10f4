"""Structured JSON logs: one JSON object per line on stderr, for every logger in the process.

structlog renders our own events; the standard ``logging`` records of uvicorn, asyncpg and the
rest of Ledger go through the same renderer (``ProcessorFormatter``), so a log shipper sees a
single format. What may appear in a line is decided by the callers: the request log records
ids, route templates, status and latency — never bodies, query strings, headers or debtor data.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}
# Libraries that log at INFO about things an operator does not act on.
QUIET_LOGGERS = ("uvicorn.access", "asyncio")

_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
]


def configure_logging(level: str = "info") -> None:
    """Send every log record of this process to stderr as JSON (idempotent)."""
    numeric = LEVELS.get(level, logging.INFO)
    structlog.configure(
        processors=[
            *_SHARED_PROCESSORS,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = json_formatter()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name("ledger-json")
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "ledger-json"]
    root.addHandler(handler)
    root.setLevel(numeric)
    # uvicorn installs its own plain-text handlers; route its records through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))


def json_formatter() -> logging.Formatter:
    """The formatter that renders any log record (ours or a library's) as one JSON line."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def get_logger(name: str) -> Any:
    """A structlog logger that renders through the handler ``configure_logging`` installed."""
    return structlog.stdlib.get_logger(name)
