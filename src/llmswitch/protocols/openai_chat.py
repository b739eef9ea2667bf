"""OpenAI chat completions request bodies (POST /v1/chat/completions)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import orjson

from llmswitch.protocols.errors import bad_request
from llmswitch.protocols.view import RequestView

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
# orjson reads integers beyond 64 bits as floats; bodies that may hold one (a run of 19 or more
# digits, found by mapping every digit to "0": much cheaper than a regex scan) take the exact stdlib path.
_DIGITS_AS_ZERO = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19
_GZIP_MAGIC = b"\x1f\x8b"
MAX_INT_DIGITS = 4300
"""Python's default limit on integer string conversion; a longer number is refused, not converted."""
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_ROLES_WITHOUT_CONTENT = frozenset({"assistant", "function", "tool"})


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _bounded_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise ValueError(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _load_exact(body: bytes) -> Any:
    """The stdlib parser keeps big integers exact; made as strict as orjson on the rest."""
    data = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_bounded_int)
    json.dumps(data, ensure_ascii=False).encode()  # UnicodeEncodeError for lone surrogate escapes
    return data


def _invalid_json(body: bytes, exc: Exception) -> str:
    """What is wrong with a body that does not parse, in the client's terms."""
    if body.startswith(_GZIP_MAGIC):
        return "The request body is gzip-compressed; send it uncompressed."
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"The request body is not valid UTF-8: byte 0x{body[bad.start]:02x} at offset {bad.start}."
    if isinstance(exc, UnicodeEncodeError) or "surrogates not allowed" in str(exc):
        return "The request body is not valid JSON: a string holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)."
    return f"The request body is not valid JSON: {exc}"


def load_json_object(body: bytes) -> dict[str, Any]:
    if not body:
        raise bad_request("empty_body", "The request body is empty; expected a JSON object.")
    try:
        if _LONG_DIGIT_RUN in body.translate(_DIGITS_AS_ZERO):
            data = _load_exact(body)
        else:
            data = orjson.loads(body)  # strict: rejects NaN, lone surrogates, out-of-range floats
    except (ValueError, RecursionError) as exc:  # orjson.JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise bad_request("invalid_json", _invalid_json(body, exc)) from None
    if not isinstance(data, dict):
        raise bad_request("invalid_body", f"The request body must be a JSON object, not {_json_type(data)}.")
    return data


def dump_json(data: dict[str, Any]) -> bytes:
    """Compact JSON; values orjson cannot write (integers beyond 64 bits, deep nesting) take the stdlib path."""
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        try:
            return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        except RecursionError:
            raise bad_request("invalid_body", "The request body is nested too deeply.") from None


def requested_model(data: dict[str, Any]) -> str:
    model = data.get("model")
    if model is None:
        raise bad_request("missing_model", "You must provide a model parameter.")
    if not isinstance(model, str) or not model:
        raise bad_request("invalid_type", "'model' must be a non-empty string.")
    return model


def parse_chat(data: dict[str, Any], model: str) -> RequestView:
    messages = data.get("messages")
    if messages is None:
        raise bad_request("missing_messages", "Missing required parameter: 'messages'.")
    if not isinstance(messages, list) or not messages:
        raise bad_request("invalid_type", "'messages' must be a non-empty array.")
    check_chat_params(data)
    stream = data.get("stream", False)
    user_parts: list[str] = []
    all_parts: list[str] = []
    tool_parts: list[str] = []
    images = False
    for index, message in enumerate(messages):
        role, text, has_image = _message_text(message, index)
        all_parts.append(text)
        images = images or has_image
        if role == "user":
            user_parts.append(text)
        elif role in ("tool", "function"):
            tool_parts.append(text)
        elif role == "assistant":
            tool_parts.extend(_tool_call_arguments(message))
    return RequestView(
        "chat",
        data,
        model,
        bool(stream),
        "\n".join(user_parts),
        "\n".join(all_parts),
        user_parts[-1] if user_parts else "",
        "\n".join(tool_parts),
        has_tools=bool(data.get("tools") or data.get("functions")),
        has_images=images,
        max_output_tokens=max_output_tokens(data),
    )


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _stop(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


_PARAM_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "stream": (lambda v: isinstance(v, bool), "a boolean"),
    "stream_options": (lambda v: isinstance(v, dict), "an object"),
    "max_tokens": (_positive_int, "a positive integer"),
    "max_completion_tokens": (_positive_int, "a positive integer"),
    "n": (_positive_int, "a positive integer"),
    "temperature": (_number, "a number"),
    "top_p": (_number, "a number"),
    "presence_penalty": (_number, "a number"),
    "frequency_penalty": (_number, "a number"),
    "seed": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "stop": (_stop, "a string or an array of strings"),
    "tools": (lambda v: isinstance(v, list), "an array"),
    "tool_choice": (lambda v: isinstance(v, str | dict), "a string or an object"),
    "response_format": (lambda v: isinstance(v, dict), "an object"),
    "logprobs": (lambda v: isinstance(v, bool), "a boolean"),
    "parallel_tool_calls": (lambda v: isinstance(v, bool), "a boolean"),
    "user": (lambda v: isinstance(v, str), "a string"),
}
_PARAMS = frozenset(_PARAM_TYPES)


def check_chat_params(data: dict[str, Any]) -> None:
    """The types of the request parameters a model server would choke on (null means unset), checked on
    routed and passthrough requests alike, so a bad value is a 400 here and not a 500 upstream."""
    for key in _PARAMS.intersection(data):
        value = data[key]
        valid, what = _PARAM_TYPES[key]
        if value is not None and not valid(value):
            raise bad_request("invalid_type", f"'{key}' must be {what}.", param=key)
    options = data.get("stream_options")
    if options is not None and not isinstance(options.get("include_usage", False), bool):
        raise bad_request("invalid_type", "'stream_options.include_usage' must be a boolean.", param="stream_options.include_usage")


def max_output_tokens(data: dict[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _tool_call_arguments(message: dict[str, Any]) -> list[str]:
    """The argument strings of an assistant turn's tool calls (and of the legacy `function_call`)."""
    calls = message.get("tool_calls")
    functions = [c.get("function") for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []
    functions.append(message.get("function_call"))
    return [f["arguments"] for f in functions if isinstance(f, dict) and isinstance(f.get("arguments"), str)]


def _message_text(message: Any, index: int) -> tuple[str, str, bool]:
    """(role, text, has an image part)"""
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise bad_request("invalid_type", f"'{where}' must be an object.")
    role = message.get("role")
    if not isinstance(role, str) or role not in _ROLES:
        raise bad_request("invalid_value", f"'{where}.role' must be one of {sorted(_ROLES)}.")
    content = message.get("content")
    if isinstance(content, str):
        return role, content, False
    if content is None:
        if role in _ROLES_WITHOUT_CONTENT:
            return role, "", False
        raise bad_request("missing_content", f"'{where}.content' is required for role {role!r}.")
    if isinstance(content, list):
        texts = [_part_text(part, f"{where}.content[{i}]") for i, part in enumerate(content)]
        return role, "\n".join(t for t in texts if t is not None), None in texts
    raise bad_request("invalid_type", f"'{where}.content' must be a string or an array of content parts.")


def _part_text(part: Any, where: str) -> str | None:
    """The text of one content part; "" for parts without routable text, None for an image."""
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise bad_request("invalid_type", f"'{where}' must be an object with a string 'type'.")
    if part["type"] != "text":
        return None if part["type"] == "image_url" else ""  # audio and files carry no routable text
    text = part.get("text")
    if not isinstance(text, str):
        raise bad_request("invalid_type", f"'{where}.text' must be a string.")
    return text


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), "null"
    )
