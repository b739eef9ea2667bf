"""Token usage from answers of each API: a JSON body, or an SSE stream fed in chunks as they pass.

- chat: `usage.prompt_tokens` / `completion_tokens` (a stream's usage chunk, if it was asked for);
- responses: `usage.input_tokens` / `output_tokens` (a stream's `response.completed` or `.incomplete`);
- messages: `usage.input_tokens` plus cache writes and reads / `output_tokens` (a stream's
  `message_start`, then the cumulative `message_delta` counts).

A stream cut short reports what it saw so far: for Anthropic streams the input tokens and the output
counted up to then; for OpenAI streams, whose usage comes last, nothing.
"""

from __future__ import annotations

from typing import Any

import orjson


Usage = tuple[int, int]
"""(prompt tokens, completion tokens)"""

_ANTHROPIC_COUNTS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
_FINAL_RESPONSE_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_tokens(usage: Any) -> Usage | None:
    """Chat completions (`prompt_tokens`), embeddings (prompt and total), Responses and Anthropic
    (`input_tokens`) usage objects.

    Anthropic counts cache writes and reads apart from `input_tokens`; they are prompt tokens too.
    """
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    if completion is None and isinstance(prompt, int) and isinstance(usage.get("total_tokens"), int):
        completion = usage["total_tokens"] - prompt  # embeddings: prompt and total only
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    if "prompt_tokens" not in usage:
        prompt += _int(usage.get("cache_creation_input_tokens")) + _int(usage.get("cache_read_input_tokens"))
    return prompt, completion


def _delta_chars(event: dict[str, Any]) -> int:
    """The text a streamed event adds: a chat chunk's deltas, Anthropic's `delta.text` / `partial_json`,
    or a Responses `delta` string."""
    delta = event.get("delta")
    if isinstance(delta, str):
        return len(delta)
    if isinstance(delta, dict):
        text = delta.get("text", delta.get("partial_json", delta.get("thinking")))
        return len(text) if isinstance(text, str) else 0
    total = 0
    for choice in event.get("choices") or ():
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict):
            content = delta.get("content")
            total += len(content) if isinstance(content, str) else 0
            for call in delta.get("tool_calls") or ():
                arguments = call.get("function", {}).get("arguments") if isinstance(call, dict) else None
                total += len(arguments) if isinstance(arguments, str) else 0
    return total


def json_usage(body: bytes) -> Usage | None:
    """The top-level `usage` of a JSON answer, in any of the three APIs."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return usage_tokens(data.get("usage")) if isinstance(data, dict) else None


class SseUsageScanner:
    """Fed the stream's chunks as they pass; keeps only a partial line, parses only lines that mention usage.

    Each API's events are told apart by their shape (Anthropic's and Responses' `type`, chat chunks
    have none), so the scanner needs no hint of the API and reads a translated stream correctly.
    """

    def __init__(self) -> None:
        self._partial = b""
        self.usage: Usage | None = None
        self.text_chars = 0
        """Characters of answer text (and tool arguments) streamed so far: the estimate when usage never comes."""
        self._counts = dict.fromkeys(_ANTHROPIC_COUNTS, 0)

    def feed(self, chunk: bytes) -> None:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if not line.startswith(b"data:") or (b'"usage"' not in line and b'"delta"' not in line):
                continue
            try:
                event = orjson.loads(line[5:].strip())
            except orjson.JSONDecodeError:
                continue
            if isinstance(event, dict):
                self.text_chars += _delta_chars(event)
                if b'"usage"' in line:
                    self._read(event)

    def _read(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind is None:  # a chat completion chunk
            self.usage = usage_tokens(event.get("usage")) or self.usage
        elif kind in _FINAL_RESPONSE_EVENTS:
            response = event.get("response")
            if isinstance(response, dict):
                self.usage = usage_tokens(response.get("usage")) or self.usage
        elif kind in ("message_start", "message_delta"):
            message = event.get("message") if event["type"] == "message_start" else event
            usage = message.get("usage") if isinstance(message, dict) else None
            if isinstance(usage, dict):
                self._anthropic(usage)

    def _anthropic(self, usage: dict[str, Any]) -> None:
        """`message_delta` counts are cumulative; a count it leaves out keeps `message_start`'s value."""
        counts = self._counts
        counts.update((key, value) for key, value in usage.items() if key in counts and isinstance(value, int))
        self.usage = usage_tokens(counts)
