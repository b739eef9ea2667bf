"""Stored answers served the other way: a chat completion as SSE, a chat stream as JSON; completeness checks."""

import orjson
import pytest

from llmswitch.cache.convert import CODECS
from llmswitch.cache.convert import events

CHAT = CODECS["chat"]
BASE = {"id": "chatcmpl-1", "created": 1700000000, "model": "m", "system_fingerprint": "fp"}


def completion(*choices: dict, usage: dict | None = None) -> dict:
    return {**BASE, "object": "chat.completion", "choices": list(choices), "usage": usage}


def choice(index: int = 0, finish: str = "stop", **message: object) -> dict:
    return {"index": index, "message": {"role": "assistant", **message}, "logprobs": None, "finish_reason": finish}


USAGE = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}


@pytest.mark.parametrize(
    "answer",
    [
        completion(choice(content="Hello there."), usage=USAGE),
        completion(choice(content=None, finish="tool_calls", tool_calls=[TOOL_CALL]), usage=USAGE),
        completion(choice(0, content="a"), choice(1, content="b", finish="length"), usage=USAGE),
        completion(choice(content="answer", reasoning_content="thinking..."), usage=None),
    ],
)
def test_a_completion_survives_json_to_sse_to_json(answer):
    stream = CHAT.to_stream(orjson.dumps(answer), {}, include_usage=True)
    assert CHAT.complete_stream(stream)
    assert stream.endswith(b"data: [DONE]\n\n")
    for event in events(stream)[:-1]:
        chunk = orjson.loads(event.data)
        assert chunk["object"] == "chat.completion.chunk" and chunk["id"] == "chatcmpl-1"
    assert orjson.loads(CHAT.to_json(stream)) == answer


def test_usage_chunk_only_when_asked():
    body = orjson.dumps(completion(choice(content="hi"), usage=USAGE))
    with_usage = [orjson.loads(e.data) for e in events(CHAT.to_stream(body, {}, True))[:-1]]
    without = [orjson.loads(e.data) for e in events(CHAT.to_stream(body, {}, False))[:-1]]
    assert with_usage[-1] == {**BASE, "object": "chat.completion.chunk", "choices": [], "usage": USAGE}
    assert all("usage" not in chunk for chunk in without)


def test_an_upstream_stream_merges_into_one_completion():
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "look", "arguments": ""},
                            }
                        ]
                    },
                    "finish_reason": None,
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"name": "up", "arguments": '{"q": '}}]},
                    "finish_reason": None,
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": "lo", "tool_calls": [{"index": 0, "function": {"arguments": '"x"}'}}]},
                    "finish_reason": "tool_calls",
                }
            ]
        },
        {"choices": [], "usage": USAGE},
    ]
    stream = b"".join(
        b"data: " + orjson.dumps({**BASE, "object": "chat.completion.chunk", **c}) + b"\r\n\r\n" for c in chunks
    )
    stream += b": keep-alive\r\n\r\ndata: [DONE]\r\n\r\n"
    assert CHAT.complete_stream(stream)
    merged = orjson.loads(CHAT.to_json(stream))
    assert merged == completion(choice(content="Hello", finish="tool_calls", tool_calls=[TOOL_CALL]), usage=USAGE)


UNFINISHED = (
    b'data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}'
)


@pytest.mark.parametrize(
    "stream",
    [
        UNFINISHED + b"\n\n",  # cut before [DONE]
        UNFINISHED + b"\n\ndata: [DONE]\n\n",  # no finish reason
        b'data: {"error":{"message":"overloaded"}}\n\ndata: [DONE]\n\n',
        b"data: [DONE]\n\n",
        b"",
    ],
)
def test_incomplete_or_failed_streams_are_not_complete(stream):
    assert not CHAT.complete_stream(stream)


def test_json_completeness():
    assert CHAT.complete_json(orjson.dumps(completion(choice(content="x"))))
    assert not CHAT.complete_json(orjson.dumps({"error": {"message": "bad"}}))
    assert not CHAT.complete_json(orjson.dumps(completion(choice(content="x", finish=None))))
    assert not CHAT.complete_json(b"not json")


MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude",
    "content": [
        {"type": "thinking", "thinking": "Let me think.", "signature": "sig"},
        {"type": "text", "text": "Calling a tool."},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 9, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
}


def test_a_messages_reply_survives_json_to_sse_to_json():
    messages = CODECS["messages"]
    stream = messages.to_stream(orjson.dumps(MESSAGE), {}, True)
    assert messages.complete_stream(stream)
    names = [e.event for e in events(stream)]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == 3
    assert orjson.loads(messages.to_json(stream)) == MESSAGE
    assert messages.complete_json(orjson.dumps(MESSAGE))
    assert not messages.complete_stream(stream.replace(b"event: message_stop", b"event: error"))


RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1700000000,
    "status": "completed",
    "model": "gpt",
    "output": [
        {
            "id": "msg_1_0",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello.", "annotations": [], "logprobs": []}],
        },
        {
            "id": "fc_1_1",
            "type": "function_call",
            "status": "completed",
            "call_id": "call_1",
            "name": "f",
            "arguments": "{}",
        },
    ],
    "usage": {"input_tokens": 2, "output_tokens": 3, "total_tokens": 5},
}


def test_a_responses_answer_becomes_a_stream_whose_final_event_holds_it():
    responses = CODECS["responses"]
    request = {"model": "auto", "input": "hi", "temperature": 0.2}
    stream = responses.to_stream(orjson.dumps(RESPONSE), request, True)
    assert responses.complete_stream(stream)
    found = events(stream)
    assert found[0].event == "response.created" and found[-1].event == "response.completed"
    assert "response.output_text.delta" in {e.event for e in found}
    merged = orjson.loads(responses.to_json(stream))
    assert merged["output"][0]["content"][0]["text"] == "Hello."
    assert merged["output"][1]["call_id"] == "call_1" and merged["temperature"] == 0.2
    assert merged["usage"]["total_tokens"] == 5
    assert responses.complete_json(orjson.dumps({**RESPONSE, "status": "incomplete"}))
    assert not responses.complete_json(orjson.dumps({**RESPONSE, "status": "failed"}))
    assert not responses.complete_stream(b"event: response.created\ndata: {}\n\n")
