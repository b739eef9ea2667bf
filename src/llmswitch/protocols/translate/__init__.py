"""Translation between the client APIs (OpenAI chat completions, OpenAI Responses, Anthropic Messages).

Each API has a decoder into a small neutral representation (`ir`) and, where it can be an
upstream or a client, an encoder out of it; a translation is decode-then-encode, so five API pairs
need five codecs per direction instead of one converter per pair. See docs/protocols.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmswitch.protocols.translate.chat_request import decode_chat, encode_chat
from llmswitch.protocols.translate.messages_request import decode_messages, encode_messages
from llmswitch.protocols.translate.names import TITLES, WireApi
from llmswitch.protocols.translate.responses_request import decode_responses
from llmswitch.protocols.translate.translator import (
    JsonTranslator,
    Passthrough,
    StreamTranslator,
    Translator,
    response_translator,
    translate_response_json,
)

__all__ = [
    "JsonTranslator",
    "Passthrough",
    "StreamTranslator",
    "TranslatedRequest",
    "Translator",
    "WireApi",
    "response_translator",
    "translate_request",
    "translate_response_json",
]

_DECODERS = {"chat": decode_chat, "messages": decode_messages, "responses": decode_responses}


@dataclass(frozen=True)
class TranslatedRequest:
    body: dict[str, Any]
    """The upstream body, without `model` (the caller sets it)."""
    dropped: tuple[str, ...]
    """Advisory client fields the upstream API has no place for, left out; expose them to the client."""


def translate_request(
    data: dict[str, Any], source: WireApi, target: WireApi, *, default_max_tokens: int
) -> TranslatedRequest:
    """The client's body (`source` API) rewritten for an upstream that speaks `target`.

    Raises `RequestError` (400, naming the field and both APIs) for what the target cannot
    express, and for malformed bodies. `default_max_tokens` fills Anthropic's required `max_tokens`.
    Same API on both sides: the body is returned as it is.
    """
    if source == target:
        return TranslatedRequest(data, ())
    conversation = _DECODERS[source](data)
    if target == "chat":
        body, dropped = encode_chat(conversation, source)
    elif target == "messages":
        body, dropped = encode_messages(conversation, source, default_max_tokens=default_max_tokens)
    else:
        raise ValueError(f"no translation from {TITLES[source]} requests to {TITLES[target]} requests")
    return TranslatedRequest(body, tuple(dropped))
