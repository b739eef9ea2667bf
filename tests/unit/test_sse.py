"""The incremental SSE parser: any chunking gives the same events."""

import pytest

from llmswitch.protocols.sse import SseEvent, SseParser, sse_data, sse_named

STREAM = (
    ": a comment\n"
    "event: message_start\r\n"
    'data: {"text": "h\u00e9llo \u2014 \U0001f600"}\r\n'
    "\r\n"
    "data:first line\n"
    "data: second line\n"
    "\n"
    "event: ping\r"
    "data: {}\r"
    "\r"
    "data: [DONE]\n\n"
).encode()
EXPECTED = [
    SseEvent("message_start", '{"text": "h\u00e9llo \u2014 \U0001f600"}'),
    SseEvent(None, "first line\nsecond line"),
    SseEvent("ping", "{}"),
    SseEvent(None, "[DONE]"),
]


def parse(*chunks: bytes) -> list[SseEvent]:
    parser = SseParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


def test_line_endings_comments_and_multi_line_data():
    assert parse(STREAM) == EXPECTED


def test_every_split_point_gives_the_same_events():
    """Splits inside a UTF-8 character, inside `\\r\\n`, inside a field name."""
    for cut in range(len(STREAM) + 1):
        assert parse(STREAM[:cut], STREAM[cut:]) == EXPECTED, cut


def test_byte_by_byte():
    assert parse(*(STREAM[i : i + 1] for i in range(len(STREAM)))) == EXPECTED


def test_an_event_without_its_blank_line_is_not_dispatched():
    parser = SseParser()
    assert parser.feed(b"data: one\n\ndata: tw") == [SseEvent(None, "one")]
    assert parser.feed(b"o\n") == []
    assert parser.feed(b"\n") == [SseEvent(None, "two")]


@pytest.mark.parametrize("payload", [b'{"a": 1}', b"[DONE]"])
def test_writers_round_trip(payload):
    assert parse(sse_data(payload)) == [SseEvent(None, payload.decode())]
    assert parse(sse_named("content_block_stop", payload)) == [SseEvent("content_block_stop", payload.decode())]
