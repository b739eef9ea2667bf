"""Response translation, per upstream attempt: JSON bodies, SSE streams and error bodies behind one interface.

`source` is the API the upstream answered in, `target` the client's API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import orjson

from llmswitch.protocols.errors import RequestError
from llmswitch.protocols.sse import SseParser
from llmswitch.protocols.translate.chat_response import decode_chat_reply, encode_chat_reply
from llmswitch.protocols.translate.chat_stream import ChatStreamDecoder, ChatStreamEncoder
from llmswitch.protocols.translate.fields import json_bytes
from llmswitch.protocols.translate.ir import Ended, Event, Failed, Reply, UpstreamFormatError
from llmswitch.protocols.translate.messages_response import decode_messages_reply, encode_messages_reply
from llmswitch.protocols.translate.messages_stream import MessagesStreamDecoder, MessagesStreamEncoder
from llmswitch.protocols.translate.names import TITLES, WireApi
from llmswitch.protocols.translate.responses_response import encode_responses_reply
from llmswitch.protocols.translate.responses_stream import ResponsesStreamEncoder
from llmswitch.protocols.translate.upstream_errors import translate_error

JSON_CONTENT_TYPE = "application/json"
SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
_INCOMPLETE = "The model server's stream ended before the answer was complete."

_REPLY_DECODERS: dict[str, Callable[[dict[str, Any], int], Reply]] = {
    "chat": decode_chat_reply,
    "messages": decode_messages_reply,
}
_REPLY_ENCODERS: dict[str, Callable[[Reply, dict[str, Any] | None], dict[str, Any]]] = {
    "chat": lambda reply, request: encode_chat_reply(reply),
    "messages": lambda reply, request: encode_messages_reply(reply),
    "responses": encode_responses_reply,
}
_STREAM_DECODERS = {"chat": ChatStreamDecoder, "messages": MessagesStreamDecoder}
_STREAM_ENCODERS = {"chat": ChatStreamEncoder, "messages": MessagesStreamEncoder, "responses": ResponsesStreamEncoder}


class Translator(Protocol):
    content_type: str
    """The content type the client gets."""

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


def _check_pair(source: WireApi, target: WireApi) -> None:
    if source != target and (source not in _REPLY_DECODERS or target not in _REPLY_ENCODERS):
        raise ValueError(f"no translation from {TITLES[source]} answers to {TITLES[target]} answers")


def translate_response_json(
    body: bytes, source: WireApi, target: WireApi, status: int, request: dict[str, Any] | None = None
) -> bytes:
    """A whole JSON answer (or error body, for status >= 400) rewritten in the client's API.

    `request` is the client's request body: a Responses answer echoes its settings. An upstream
    answer that is not valid for its API becomes an error body (status 502's shape) in the client's API.
    """
    _check_pair(source, target)
    if source == target:
        return body
    if status >= 400:
        return translate_error(body, status, target)
    try:
        data = orjson.loads(body)
        if not isinstance(data, dict):
            raise UpstreamFormatError("the answer is not a JSON object")
        return json_bytes(_REPLY_ENCODERS[target](_REPLY_DECODERS[source](data, int(time.time())), request))
    except (orjson.JSONDecodeError, UpstreamFormatError, RecursionError) as exc:
        error = RequestError(
            502, "upstream_format", f"The model server's answer could not be read: {exc}", "server_error"
        )
        return error.body_for(target)


class StreamTranslator:
    """An upstream SSE stream rewritten event by event: `feed` returns the client bytes of every event
    the chunk completes, `finish` closes the stream (or ends it with an error event if it was cut short)."""

    content_type = SSE_CONTENT_TYPE

    def __init__(self, source: WireApi, target: WireApi, request: dict[str, Any] | None = None) -> None:
        _check_pair(source, target)
        self._parser = SseParser()
        self._decoder = _STREAM_DECODERS[source](int(time.time()))
        self._encoder = _STREAM_ENCODERS[target](request)

    def feed(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        for sse in self._parser.feed(chunk):
            if self._encoder.closed:
                break
            try:
                events: list[Event] = self._decoder.decode(sse)
            except UpstreamFormatError as exc:
                events = [Failed(502, "upstream_format", f"The model server's stream could not be read: {exc}")]
            for event in events:
                out.append(self._encoder.encode(event))
                if self._encoder.closed:
                    break
        return b"".join(out)

    def finish(self) -> bytes:
        if self._encoder.closed:
            return b""
        if self._decoder.complete:
            return self._encoder.encode(Ended())
        return self._encoder.encode(Failed(502, "incomplete_stream", _INCOMPLETE))


class JsonTranslator:
    """Buffers a JSON (or error) body and rewrites it whole at `finish`."""

    content_type = JSON_CONTENT_TYPE

    def __init__(self, source: WireApi, target: WireApi, status: int, request: dict[str, Any] | None = None) -> None:
        _check_pair(source, target)
        self._args = (source, target, status, request)
        self._body = bytearray()

    def feed(self, chunk: bytes) -> bytes:
        self._body += chunk
        return b""

    def finish(self) -> bytes:
        source, target, status, request = self._args
        return translate_response_json(bytes(self._body), source, target, status, request)


class Passthrough:
    """Same API on both sides: the bytes pass unchanged."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type

    def feed(self, chunk: bytes) -> bytes:
        return chunk

    def finish(self) -> bytes:
        return b""


def response_translator(
    source: WireApi, target: WireApi, status: int, content_type: str, *, request: dict[str, Any] | None = None
) -> Translator:
    """The translator for one upstream attempt's answer, chosen from its status and content type."""
    if source == target:
        return Passthrough(content_type)
    if status < 400 and content_type.lower().startswith("text/event-stream"):
        return StreamTranslator(source, target, request)
    return JsonTranslator(source, target, status, request)
