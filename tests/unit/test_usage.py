"""Usage read from each API's JSON answers and streams, fed in arbitrary chunks."""

import httpx
import pytest

from llmswitch.protocols.usage import SseUsageScanner, json_usage, usage_tokens
from tests.protocol_fixtures import CHAT_STREAM, MESSAGES_STREAM
from tests.protocol_helpers import stub_server


def scan(api, stream: bytes, size: int) -> tuple[int, int] | None:
    scanner = SseUsageScanner()
    for start in range(0, len(stream), size):
        scanner.feed(stream[start : start + size])
    return scanner.usage


@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
def test_chat_and_anthropic_streams(size):
    assert scan("chat", CHAT_STREAM, size) == (30, 12)
    assert scan("messages", MESSAGES_STREAM, size) == (30, 12)  # 20 + 10 read from the cache, 12 out


def test_anthropic_stream_cut_short_reports_what_it_saw():
    start = MESSAGES_STREAM.index(b"event: content_block_start")
    assert scan("messages", MESSAGES_STREAM[:start], 5) == (30, 1)  # message_start's counts


def test_message_delta_counts_replace_only_what_they_carry():
    scanner = SseUsageScanner()
    scanner.feed(
        b'data: {"type":"message_start","message":{"usage":{"input_tokens":5,"cache_read_input_tokens":7,"output_tokens":1}}}\n\n'
    )
    scanner.feed(b'data: {"type":"message_delta","delta":{},"usage":{"output_tokens":9,"input_tokens":6}}\n\n')
    assert scanner.usage == (13, 9)


def test_responses_stream_reads_only_the_final_response():
    created = (
        b'event: response.created\ndata: {"type":"response.created","response":{"usage":null},"sequence_number":0}\n\n'
    )
    completed = b'event: response.completed\r\ndata: {"type":"response.completed","response":{"usage":{"input_tokens":4,"output_tokens":2,"total_tokens":6}},"sequence_number":9}\r\n\r\n'
    assert scan("responses", created, 3) is None
    assert scan("responses", created + completed, 3) == (4, 2)


def test_json_answers_of_each_api():
    assert json_usage(b'{"usage": {"prompt_tokens": 3, "completion_tokens": 4}}') == (3, 4)
    assert json_usage(b'{"usage": {"input_tokens": 3, "output_tokens": 4}}') == (3, 4)
    anthropic = b'{"usage": {"input_tokens": 3, "cache_creation_input_tokens": 2, "cache_read_input_tokens": 1, "output_tokens": 4}}'
    assert json_usage(anthropic) == (6, 4)
    assert json_usage(b"not json") is None and json_usage(b"[]") is None


def test_the_stubs_usage_read_back_from_their_streams():
    body = {"model": "m", "stream": True}
    with stub_server("u") as url:
        chat = httpx.post(
            f"{url}/v1/chat/completions",
            json={
                **body,
                "messages": [{"role": "user", "content": "12345678"}],
                "stream_options": {"include_usage": True},
            },
        )
        messages = httpx.post(
            f"{url}/v1/messages",
            json={**body, "max_tokens": 9, "messages": [{"role": "user", "content": "12345678"}]},
            headers={"anthropic-version": "2023-06-01"},
        )
        responses = httpx.post(f"{url}/v1/responses", json={**body, "input": "12345678"})
    for api, answer in (("chat", chat), ("messages", messages), ("responses", responses)):
        assert scan(api, answer.content, 13) == (2, 5), api


def test_streamed_text_is_counted_for_streams_that_never_report_usage():
    scanner = SseUsageScanner()
    scanner.feed(b'data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n')
    scanner.feed(b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"abc"}}\n\n')
    scanner.feed(b'data: {"type":"response.output_text.delta","delta":"de"}\n\n')
    scanner.feed(b'data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\\"a\\""}}]}}]}\n\n')
    assert scanner.usage is None and scanner.text_chars == 5 + 3 + 2 + 4


def test_embeddings_usage_has_no_completion_tokens():
    assert usage_tokens({"prompt_tokens": 8, "total_tokens": 8}) == (8, 0)
    assert usage_tokens({"prompt_tokens": 8}) is None
