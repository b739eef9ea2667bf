"""Stream translation event by event, read back through each client SDK's own stream classes."""

import anthropic
import openai
import pytest

from llmswitch.protocols.sse import SseParser
from llmswitch.protocols.translate import StreamTranslator
from llmswitch.protocols.translate import translator as translator_module
from tests.protocol_fixtures import CHAT_STREAM, MESSAGES_STREAM, anthropic_event
from tests.protocol_helpers import anthropic_client, bytes_client, openai_client

CHAT_REQUEST_WITH_USAGE = {"model": "m", "messages": [], "stream": True, "stream_options": {"include_usage": True}}


def translate(source, target, upstream, request=None, pieces=None):
    translator = StreamTranslator(source, target, request)
    chunks = pieces if pieces is not None else [upstream]
    return b"".join(translator.feed(chunk) for chunk in chunks) + translator.finish()


def anthropic_final(stream: bytes) -> anthropic.types.Message:
    client = anthropic_client(bytes_client(stream))
    with client.messages.stream(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}]) as events:
        for _ in events:
            pass
        return events.get_final_message()


def chat_chunks(stream: bytes) -> list:
    client = openai_client(bytes_client(stream))
    return list(client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], stream=True))


def chat_final(stream: bytes):
    client = openai_client(bytes_client(stream))
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "x"}]) as events:
        for _ in events:
            pass
        return events.get_final_completion()


def responses_events(stream: bytes) -> list:
    client = openai_client(bytes_client(stream))
    return list(client.responses.create(model="m", input="x", stream=True))


def responses_final(stream: bytes):
    client = openai_client(bytes_client(stream))
    with client.responses.stream(model="m", input="x") as events:
        for _ in events:
            pass
        return events.get_final_response()


def test_chat_stream_to_anthropic_client():
    message = anthropic_final(translate("chat", "messages", CHAT_STREAM))
    assert [b.type for b in message.content] == ["text", "tool_use", "tool_use"]
    assert message.content[0].text == "Caf\u00e9 time \U0001f600."
    assert (message.content[1].id, message.content[1].input) == ("call_a", {"city": "Paris"})
    assert (message.content[2].name, message.content[2].input) == ("time", {})
    assert message.stop_reason == "tool_use"
    usage = message.usage  # known only from the chat stream's last chunk, so carried by message_delta
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (20, 10, 12)


def test_chat_stream_to_responses_client():
    response = responses_final(
        translate("chat", "responses", CHAT_STREAM, {"model": "m", "input": "x", "stream": True})
    )
    assert [item.type for item in response.output] == ["message", "function_call", "function_call"]
    assert response.output_text == "Caf\u00e9 time \U0001f600."
    assert [(i.call_id, i.arguments) for i in response.output[1:]] == [
        ("call_a", '{"city": "Paris"}'),
        ("call_b", "{}"),
    ]
    assert (response.status, response.usage.input_tokens, response.usage.output_tokens) == ("completed", 30, 12)


def test_responses_events_are_numbered_and_ordered():
    events = responses_events(translate("chat", "responses", CHAT_STREAM))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-1] == "response.completed"
    assert kinds.count("response.output_item.added") == kinds.count("response.output_item.done") == 3
    assert kinds.count("response.function_call_arguments.delta") == 3


def test_anthropic_stream_to_chat_client():
    completion = chat_final(translate("messages", "chat", MESSAGES_STREAM, CHAT_REQUEST_WITH_USAGE))
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == ("Caf\u00e9 time \U0001f600.", "tool_calls")
    assert [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls] == [
        ("toolu_a", "weather", '{"city": "Paris"}')
    ]
    assert (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
        completion.usage.prompt_tokens_details.cached_tokens,
    ) == (30, 12, 10)


def test_chat_usage_chunk_only_when_the_client_asked():
    without = chat_chunks(
        translate("messages", "chat", MESSAGES_STREAM, {"model": "m", "messages": [], "stream": True})
    )
    assert all(chunk.usage is None and chunk.choices for chunk in without)
    with_usage = chat_chunks(translate("messages", "chat", MESSAGES_STREAM, CHAT_REQUEST_WITH_USAGE))
    assert with_usage[-1].choices == [] and with_usage[-1].usage.total_tokens == 42


def test_anthropic_stream_to_responses_client():
    response = responses_final(translate("messages", "responses", MESSAGES_STREAM))
    assert [item.type for item in response.output] == ["reasoning", "message", "function_call"]
    assert response.output[0].content[0].text == "Weather needed."
    assert (response.output_text, response.output[2].arguments) == ("Caf\u00e9 time \U0001f600.", '{"city": "Paris"}')
    assert (response.usage.input_tokens, response.usage.input_tokens_details.cached_tokens) == (30, 10)


@pytest.mark.parametrize(
    ("source", "target", "upstream"), [("chat", "messages", CHAT_STREAM), ("messages", "responses", MESSAGES_STREAM)]
)
def test_split_anywhere_gives_the_same_bytes(monkeypatch, source, target, upstream):
    """Two pieces cut at every byte position (inside UTF-8 characters and between `\\n\\n`), and byte by byte."""
    monkeypatch.setattr(translator_module.time, "time", lambda: 1_700_000_000)
    whole = translate(source, target, upstream)
    for cut in range(len(upstream) + 1):
        assert translate(source, target, upstream, pieces=[upstream[:cut], upstream[cut:]]) == whole, cut
    assert translate(source, target, upstream, pieces=[upstream[i : i + 1] for i in range(len(upstream))]) == whole


def test_each_upstream_event_is_translated_as_soon_as_it_is_complete():
    translator = StreamTranslator("messages", "chat")
    events = [e + b"\n\n" for e in MESSAGES_STREAM.split(b"\n\n") if e]
    assert b'"role":"assistant"' in translator.feed(events[0])  # message_start -> the first chunk
    for event in events[1:7]:  # thinking (no place in chat), the text block start, a ping
        translator.feed(event)
    out = translator.feed(events[7][:-1])  # the first text delta, all but its last newline
    assert out == b""
    out = translator.feed(events[7][-1:])
    assert b'"content":"Caf\xc3\xa9 "' in out


def _cut(stream: bytes, events: int) -> bytes:
    return b"".join(e + b"\n\n" for e in stream.split(b"\n\n")[:events])


def test_a_stream_cut_short_ends_with_an_error_in_the_client_api():
    with pytest.raises(anthropic.APIStatusError) as info:
        anthropic_final(translate("chat", "messages", _cut(CHAT_STREAM, 4)))
    assert "ended before the answer was complete" in str(info.value)
    with pytest.raises(openai.APIError, match="ended before the answer was complete"):
        chat_chunks(translate("messages", "chat", _cut(MESSAGES_STREAM, 9)))
    events = responses_events(translate("chat", "responses", _cut(CHAT_STREAM, 3)))
    assert events[-1].type == "error" and events[-1].code == "incomplete_stream"
    assert translate("chat", "messages", b"").startswith(b"event: error\n")


def test_a_finished_chat_stream_without_done_still_closes_properly():
    upstream = CHAT_STREAM.replace(b"data: [DONE]\n\n", b"")
    message = anthropic_final(translate("chat", "messages", upstream))
    assert message.stop_reason == "tool_use" and message.usage.output_tokens == 12


def test_an_upstream_error_event_reaches_the_client_in_its_api():
    overloaded = _cut(MESSAGES_STREAM, 8) + anthropic_event(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    with pytest.raises(openai.APIError, match="Overloaded") as info:
        chat_chunks(translate("messages", "chat", overloaded))
    assert info.value.code == "overloaded_error"
    events = responses_events(translate("messages", "responses", overloaded))
    assert (events[-1].type, events[-1].code, events[-1].message) == ("error", "overloaded_error", "Overloaded")
    chat_error = (
        _cut(CHAT_STREAM, 2) + b'data: {"error": {"message": "boom", "type": "server_error", "code": null}}\n\n'
    )
    with pytest.raises(anthropic.APIStatusError, match="boom"):
        anthropic_final(translate("chat", "messages", chat_error))


def test_unreadable_upstream_events_end_the_stream_with_an_error():
    out = translate("chat", "messages", _cut(CHAT_STREAM, 2) + b"data: {not json\n\n" + CHAT_STREAM)
    events = [e.event for e in SseParser().feed(out)]
    assert events[-1] == "error" and events.count("message_start") == 1


def test_responses_echo_of_a_request_with_integers_beyond_64_bits():
    """Requests are parsed exactly (big integers stay ints); the echo in `response.created` must still write."""
    request = {"model": "m", "input": "x", "tools": [{"type": "function", "name": "f", "parameters": {"maximum": 2**70}}]}
    out = translate("chat", "responses", CHAT_STREAM, request)
    assert b'"maximum":1180591620717411303424' in out and out.rstrip().endswith(b"}")
