"""Access lines: JSON, batched on the event loop, flushed by size, by timer and at shutdown."""

import asyncio
import io
from datetime import UTC, datetime

import orjson
import pytest

from llmswitch.telemetry import access_log
from llmswitch.telemetry.access_log import AccessLog, timestamp


def lines(stream: io.BytesIO) -> list[dict]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_without_an_event_loop_each_line_is_written_at_once():
    stream = io.BytesIO()
    log = AccessLog(stream)
    log.write({"status": 200, "model": "small-model"})
    [entry] = lines(stream)
    assert entry["logger"] == "llmswitch.access" and entry["level"] == "info"
    assert (entry["status"], entry["model"]) == (200, "small-model") and entry["ts"].endswith("+00:00")


async def test_on_the_event_loop_lines_are_batched_until_the_timer(monkeypatch):
    monkeypatch.setattr(access_log, "FLUSH_INTERVAL_S", 0.05)
    stream = io.BytesIO()
    log = AccessLog(stream)
    for status in (200, 404, 200):
        log.write({"status": status})
    assert stream.getvalue() == b""
    await asyncio.sleep(0.2)
    assert [e["status"] for e in lines(stream)] == [200, 404, 200]


async def test_a_full_batch_and_shutdown_flush_without_waiting(monkeypatch):
    monkeypatch.setattr(access_log, "FLUSH_BYTES", 200)
    stream = io.BytesIO()
    log = AccessLog(stream)
    while not stream.getvalue():
        log.write({"status": 200, "path": "/v1/chat/completions"})
    written = len(lines(stream))
    log.write({"status": 503})
    log.flush()
    assert [e["status"] for e in lines(stream)] == [200] * written + [503]


@pytest.mark.parametrize(
    "created",
    [0.0, 1_764_650_000.0, 1_764_650_000.0004994, 1_764_650_000.0005, 1_764_650_000.9994999, 1_764_650_000.9999996, 1_797_065_202.4009995],
)
def test_timestamp_is_what_datetime_writes(created):
    assert timestamp(created) == datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
