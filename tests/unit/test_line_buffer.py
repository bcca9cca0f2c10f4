"""Request log lines are written a few at a time, whole, in order, and never left behind."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys

from ledger.observability import logs
from ledger.observability.line_buffer import ATOMIC_BYTES, FLUSH_SECONDS, LineBuffer


class Recorder:
    """A stream that keeps each ``write`` apart, to see how lines were grouped."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def _line(n: int, width: int = 200) -> str:
    return f"{n:06d}".ljust(width, "x") + "\n"


def test_lines_inside_an_event_loop_are_written_together_after_the_flush_delay() -> None:
    stream = Recorder()
    buffer = LineBuffer(stream)  # type: ignore[arg-type]

    async def scenario() -> None:
        for n in range(5):
            buffer.add(_line(n), 201)
        assert stream.writes == []
        await asyncio.sleep(FLUSH_SECONDS * 3)

    asyncio.run(scenario())
    assert stream.writes == ["".join(_line(n) for n in range(5))]


def test_no_write_exceeds_the_atomic_pipe_size_nor_splits_a_line() -> None:
    stream = Recorder()
    buffer = LineBuffer(stream)  # type: ignore[arg-type]

    async def scenario() -> None:
        for n in range(100):
            buffer.add(_line(n, 300), 301)
        buffer.flush()

    asyncio.run(scenario())
    assert len(stream.writes) > 1
    assert all(len(text.encode()) <= ATOMIC_BYTES and text.endswith("\n") for text in stream.writes)
    assert "".join(stream.writes) == "".join(_line(n, 300) for n in range(100))


def test_a_warning_or_a_line_outside_an_event_loop_is_written_at_once_after_what_waited() -> None:
    stream = Recorder()
    buffer = LineBuffer(stream)  # type: ignore[arg-type]
    buffer.add(_line(1), 201)  # no running loop: written now
    assert stream.writes == [_line(1)]

    async def scenario() -> None:
        buffer.add(_line(2), 201)
        buffer.add(_line(3), 201, urgent=True)

    asyncio.run(scenario())
    assert stream.writes == [_line(1), _line(2) + _line(3)]


def test_a_standard_logging_record_comes_after_the_request_lines_logged_before_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    stream = Recorder()
    monkeypatch.setattr(logs, "LINES", LineBuffer(stream))  # type: ignore[arg-type]
    handler = logs.OrderedStreamHandler(stream)  # type: ignore[arg-type]
    handler.setFormatter(logs.json_formatter())
    record = logging.LogRecord("ledger.test", logging.INFO, __file__, 1, "later", None, None)

    async def scenario() -> None:
        logs.LINES.add(_line(1), 201)
        handler.emit(record)

    asyncio.run(scenario())
    assert stream.writes[0] == _line(1) and '"later"' in stream.writes[1]


def test_what_waits_is_written_when_the_process_exits() -> None:
    program = (
        "import asyncio\n"
        "from ledger.observability.logs import LineLogger\n"
        "async def main():\n"
        "    LineLogger('ledger.requests').log(20, 'request', status=200)\n"
        "asyncio.run(main())\n"  # the loop ends before its flush timer runs
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60, check=True)
    assert '"event":"request"' in done.stderr and '"status":200' in done.stderr
