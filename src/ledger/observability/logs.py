"""Structured JSON logs: one JSON object per line on stderr, for every logger in the process.

structlog renders our own events straight to a JSON line (msgspec; the request log writes one
per request, so this is on the hot path); the standard ``logging`` records of uvicorn, asyncpg
and the rest of Ledger are rendered to the same shape by :class:`JsonFormatter`, so a log
shipper sees a single format. What may appear in a line is decided by the callers: the request
log records ids, route templates, status and latency — never bodies, query strings, headers or
debtor data.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from ledger.observability.line_buffer import LineBuffer, flush_at_exit

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}
# Libraries that log at INFO about things an operator does not act on.
QUIET_LOGGERS = ("uvicorn.access", "asyncio")
RENDERED = "ledger_rendered"
"""Marks a record whose message is already our JSON line."""

_encoder = msgspec.json.Encoder(enc_hook=str)


def _json(value: Any) -> str:
    # Anything msgspec does not know (an exception object, a path) is written as its str().
    return _encoder.encode(value).decode()


def _render(_: Any, __: str, event: dict[str, Any]) -> tuple[tuple[str], dict[str, Any]]:
    """Last structlog processor: the JSON line, flagged so the formatter passes it through."""
    return (_json(event),), {"extra": {RENDERED: True}}


class JsonFormatter(logging.Formatter):
    """Renders any log record — ours or a library's — as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, RENDERED, False):
            return str(record.msg)
        event: dict[str, Any] = {
            "event": record.getMessage(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
        }
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return _json(event)


def configure_logging(level: str = "info") -> None:
    """Send every log record of this process to stderr as JSON (idempotent)."""
    numeric = LEVELS.get(level, logging.INFO)
    _threshold[0] = numeric
    structlog.configure(
        processors=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
            structlog.processors.format_exc_info,
            _render,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = OrderedStreamHandler(sys.stderr)
    handler.setFormatter(json_formatter())
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
    return JsonFormatter()


class LineLogger:
    """A logger for the hot path: renders its JSON line itself and writes it batched.

    Going through ``logging`` costs ~40 µs a line (record, caller lookup, locks), a tenth of a
    request's budget; this costs a few. It honours the level ``configure_logging`` set and
    writes the same line shape, through ``LINES`` (whole lines, a few per ``write``, never
    interleaved with other workers' lines; see ``line_buffer``).
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def log(self, level: int, event: str, **fields: Any) -> None:
        if level < _threshold[0]:
            return
        fields["event"] = event
        fields["level"] = _LEVEL_NAMES.get(level) or logging.getLevelName(level).lower()
        fields["logger"] = self.name
        fields["time"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        encoded = _encoder.encode(fields)
        line = encoded.decode() + "\n"
        if sink is not None:
            sink.write(line)
            return
        LINES.add(line, len(encoded) + 1, urgent=level >= logging.WARNING)


class OrderedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The standard handler, writing the request lines that wait first (lines stay in order)."""

    def emit(self, record: logging.LogRecord) -> None:
        LINES.flush()
        super().emit(record)


LINES = flush_at_exit(LineBuffer())
"""The process's request lines on their way to stderr."""
_LEVEL_NAMES = {level: logging.getLevelName(level).lower() for level in LEVELS.values()}


sink: Any = None
"""Where ``LineLogger`` writes (``None``: the process's stderr); tests point it elsewhere."""
_threshold = [logging.INFO]


def get_logger(name: str) -> Any:
    """A structlog logger that renders through the handler ``configure_logging`` installed."""
    return structlog.stdlib.get_logger(name)
