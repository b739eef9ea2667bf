"""Cost of protocol translation, against a same-run baseline that parses the same bytes without translating.

- streams: microseconds per upstream SSE event through `StreamTranslator` (chat -> Anthropic client,
  Anthropic -> chat client, chat -> Responses client), fed one event per chunk as a model server
  sends them; baseline: the same events split by `SseParser` and their JSON parsed;
- requests: microseconds per body through `translate_request`; baseline: `orjson.loads` + `orjson.dumps`
  of the same body (what routing already does to every request);
- JSON answers: microseconds per body through `translate_response_json`; same baseline.

Ratios (translation / baseline) are what to compare across machines.

    python bench/bench_translate.py
    python bench/bench_translate.py --events 2000 --repeat 7
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from time import perf_counter

import orjson

from llmswitch.protocols.sse import SseParser
from llmswitch.protocols.translate import StreamTranslator, translate_request, translate_response_json


def chat_stream(deltas: int) -> list[bytes]:
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "openai-model"}

    def chunk(delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
        payload = {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if usage is not None:
            payload = {**head, "choices": [], "usage": usage}
        return b"data: " + orjson.dumps(payload) + b"\n\n"

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": f"token {i} "}) for i in range(deltas)]
    events.append(chunk({}, "stop"))
    events.append(chunk({}, usage={"prompt_tokens": 900, "completion_tokens": deltas, "total_tokens": 900 + deltas}))
    return [*events, b"data: [DONE]\n\n"]


def anthropic_stream(deltas: int) -> list[bytes]:
    def event(payload: dict) -> bytes:
        return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "anthropic-model",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 900, "output_tokens": 1},
    }
    events = [event({"type": "message_start", "message": message})]
    events.append(event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
    events += [
        event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"token {i} "}})
        for i in range(deltas)
    ]
    events.append(event({"type": "content_block_stop", "index": 0}))
    events.append(
        event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": deltas},
            }
        )
    )
    return [*events, event({"type": "message_stop"})]


def chat_request(turns: int) -> dict:
    tools = [
        {
            "type": "function",
            "function": {
                "name": f"tool_{i}",
                "description": "Looks things up.",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
        for i in range(4)
    ]
    messages: list[dict] = [{"role": "system", "content": "You are a careful assistant. " * 10}]
    for i in range(turns):
        messages.append({"role": "user", "content": f"Question {i}: " + "please explain this in detail. " * 8})
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": f"call_{i}", "type": "function", "function": {"name": "tool_0", "arguments": '{"q": "x"}'}}
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": f"call_{i}", "content": "result " * 20})
        messages.append({"role": "assistant", "content": "Here is the explanation. " * 10})
    messages.append({"role": "user", "content": "And finally?"})
    return {
        "model": "auto",
        "messages": messages,
        "tools": tools,
        "temperature": 0.3,
        "max_tokens": 512,
        "stream": True,
    }


def best_us(baseline: Callable[[], object], work: Callable[[], object], loops: int, repeat: int) -> tuple[float, float]:
    """The fastest of `repeat` runs of each, in microseconds per call; runs alternate, so both see the same load."""
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for slot, function in enumerate((baseline, work)):
            started = perf_counter()
            for _ in range(loops):
                function()
            best[slot] = min(best[slot], (perf_counter() - started) / loops)
    return best[0] * 1e6, best[1] * 1e6


def parse_only(events: list[bytes]) -> None:
    parser = SseParser()
    for chunk in events:
        for event in parser.feed(chunk):
            if event.data != "[DONE]":
                orjson.loads(event.data)


def translate_stream(source: str, target: str, events: list[bytes]) -> None:
    translator = StreamTranslator(source, target, {"stream_options": {"include_usage": True}})  # type: ignore[arg-type]
    for chunk in events:
        translator.feed(chunk)
    translator.finish()


def round_trip(raw: bytes) -> bytes:
    return orjson.dumps(orjson.loads(raw))


def translate_body(raw: bytes, source: str, target: str) -> bytes:
    return orjson.dumps(translate_request(orjson.loads(raw), source, target, default_max_tokens=1024).body)  # type: ignore[arg-type]


def row(name: str, unit: str, translated: float, baseline: float) -> None:
    print(
        f"{name:<34} {translated:9.2f} {unit:<9} baseline {baseline:8.2f} {unit:<9} ratio {translated / baseline:5.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500, help="text deltas per stream")
    parser.add_argument("--turns", type=int, default=5, help="user/assistant/tool rounds per request body")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()

    streams = {"chat": chat_stream(args.events), "messages": anthropic_stream(args.events)}
    for source, target in (
        ("chat", "messages"),
        ("messages", "chat"),
        ("chat", "responses"),
        ("messages", "responses"),
    ):
        events = streams[source]
        baseline, translated = best_us(
            partial(parse_only, events), partial(translate_stream, source, target, events), 20, args.repeat
        )
        row(f"stream {source} -> {target}", "us/event", translated / len(events), baseline / len(events))

    chat = chat_request(args.turns)
    bodies = {
        "chat": chat,
        "messages": {**translate_request(chat, "chat", "messages", default_max_tokens=1024).body, "model": "auto"},
        "responses": {
            "model": "auto",
            "input": "Question: " + "please explain this in detail. " * 8,
            "instructions": "Be careful.",
            "stream": True,
        },
    }
    for source, target in (
        ("chat", "messages"),
        ("messages", "chat"),
        ("responses", "chat"),
        ("responses", "messages"),
    ):
        raw = orjson.dumps(bodies[source])
        baseline, translated = best_us(
            partial(round_trip, raw), partial(translate_body, raw, source, target), 400, args.repeat
        )
        row(f"request {source} -> {target} ({len(raw)} B)", "us/body", translated, baseline)

    answers = {
        "chat": orjson.dumps(
            {
                "id": "c",
                "object": "chat.completion",
                "created": 1,
                "model": "openai-model",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "word " * 200}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 900, "completion_tokens": 200, "total_tokens": 1100},
            }
        ),
        "messages": orjson.dumps(
            {
                "id": "m",
                "type": "message",
                "role": "assistant",
                "model": "anthropic-model",
                "content": [{"type": "text", "text": "word " * 200}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 900, "output_tokens": 200},
            }
        ),
    }
    for source, target in (("chat", "messages"), ("messages", "chat"), ("chat", "responses")):
        raw = answers[source]
        baseline, translated = best_us(
            partial(round_trip, raw), partial(translate_response_json, raw, source, target, 200), 3000, args.repeat
        )
        row(f"answer {source} -> {target} ({len(raw)} B)", "us/body", translated, baseline)


if __name__ == "__main__":
    main()
