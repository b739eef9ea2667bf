"""Anthropic Messages: a `message` with a stop reason, or a stream of named events ending in `message_stop`.

Converted through the protocol layer's neutral representation: its decoders read either shape and
its encoders write them as Anthropic does.
"""

from __future__ import annotations

from typing import Any

import orjson

from llmswitch.cache.convert.base import ApiCodec, ends_with, events, json_object
from llmswitch.cache.convert.ir_stream import fold_events, reply_events
from llmswitch.protocols.translate.ir import UpstreamFormatError
from llmswitch.protocols.translate.messages_response import decode_messages_reply, encode_messages_reply
from llmswitch.protocols.translate.messages_stream import MessagesStreamDecoder, MessagesStreamEncoder


class MessagesCodec(ApiCodec):
    def complete_json(self, body: bytes) -> bool:
        data = json_object(body)
        return data is not None and data.get("type") == "message" and data.get("stop_reason") is not None

    def complete_stream(self, body: bytes) -> bool:
        return ends_with(events(body), "message_stop")

    def to_stream(self, body: bytes, request: dict[str, Any], include_usage: bool) -> bytes | None:
        data = json_object(body)
        if data is None:
            return None
        encoder = MessagesStreamEncoder(request)
        return b"".join(encoder.encode(event) for event in reply_events(decode_messages_reply(data, 0)))

    def to_json(self, body: bytes) -> bytes | None:
        decoder = MessagesStreamDecoder(0)
        try:
            reply = fold_events([event for sse in events(body) for event in decoder.decode(sse)])
            return orjson.dumps(encode_messages_reply(reply)) if reply is not None else None
        except UpstreamFormatError:
            return None
