"""API names and the refusal every encoder raises for a field it cannot express."""

from __future__ import annotations

from llmswitch.protocols.errors import RequestError
from llmswitch.protocols.view import ClientApi

WireApi = ClientApi
"""The API a body is written in, on either side: chat, messages or responses."""

TITLES: dict[str, str] = {
    "chat": "OpenAI chat completions",
    "messages": "Anthropic Messages",
    "responses": "OpenAI Responses",
}


def untranslatable(where: str, why: str, source: WireApi, target: WireApi) -> RequestError:
    message = f"'{where}' cannot be translated from the {TITLES[source]} API to the {TITLES[target]} API: {why}"
    return RequestError(400, "untranslatable_field", message, param=where)
