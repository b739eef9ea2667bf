"""Token usage from OpenAI-style responses: a JSON body, or the usage chunk of an SSE stream."""

from __future__ import annotations

from typing import Any

import orjson

Usage = tuple[int, int]
"""(prompt tokens, completion tokens)"""


def usage_tokens(usage: Any) -> Usage | None:
    """Reads chat completions (`prompt_tokens`) and Responses/Anthropic style (`input_tokens`) usage."""
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    if isinstance(prompt, int) and isinstance(completion, int):
        return prompt, completion
    return None


def json_usage(body: bytes) -> Usage | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return usage_tokens(data.get("usage")) if isinstance(data, dict) else None


class SseUsageScanner:
    """Fed the stream's chunks as they pass; keeps only a partial line, parses only lines with usage."""

    def __init__(self) -> None:
        self._partial = b""
        self.usage: Usage | None = None

    def feed(self, chunk: bytes) -> None:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if line.startswith(b"data:") and b'"usage"' in line:
                found = json_usage(line[5:].strip())
                if found is not None:
                    self.usage = found
