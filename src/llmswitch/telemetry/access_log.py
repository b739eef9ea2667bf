"""JSON logs on stderr: the process log, and one access line per request (no prompt text, no credentials)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from time import perf_counter_ns, time
from typing import BinaryIO

import orjson

ACCESS_LOGGER = "llmswitch.access"
# Access lines are written in batches, like Envoy's own access logs (file_flush_interval 1 s).
FLUSH_INTERVAL_S = 1.0
FLUSH_BYTES = 64 * 1024


@lru_cache(maxsize=2)
def _utc_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def timestamp(created: float) -> str:
    """ISO 8601 in UTC with milliseconds; the date and time of day are formatted once per second."""
    second = int(created)
    micros = round((created - second) * 1e6)  # rounded to microseconds first, as datetime does
    if micros == 1_000_000:
        second, micros = second + 1, 0
    return f"{_utc_second(second)}.{micros // 1000:03d}+00:00"


def _envelope(created: float, level: str, logger: str) -> dict[str, object]:
    """The fields every JSON log line starts with."""
    return {"ts": timestamp(created), "level": level, "logger": logger}


class JsonFormatter(logging.Formatter):
    """Renders a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = _envelope(record.created, record.levelname.lower(), record.name)
        entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class AccessLog:
    """Writes access lines (the same JSON shape as the process log) in batches: a request costs a dict
    and an orjson call, and stderr is written once per batch instead of once per request."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream
        self._pending: list[bytes] = []
        self._size = 0
        self._flush_timer: asyncio.TimerHandle | None = None

    def request(self, headers: Mapping[str, str], started_ns: int, status: int | None, **fields: str) -> None:
        """The access line of one request, timed from ``started_ns`` (perf_counter_ns)."""
        self.write(
            {
                "request_id": headers.get("x-request-id"),
                "method": headers.get(":method"),
                "path": headers.get(":path"),
                "status": status,
                **fields,
                "latency_ms": round((perf_counter_ns() - started_ns) / 1e6, 3),
            }
        )

    def write(self, fields: dict[str, object]) -> None:
        entry = _envelope(time(), "info", ACCESS_LOGGER)
        entry.update(fields)
        line = orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE)
        self._pending.append(line)
        self._size += len(line)
        if self._size >= FLUSH_BYTES:
            self.flush()
        elif self._flush_timer is None:
            try:
                self._flush_timer = asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self.flush)
            except RuntimeError:  # no event loop (tools, tests): write at once
                self.flush()

    def flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        stream = self._stream or sys.stderr.buffer
        stream.write(data)
        stream.flush()
