"""Which client API a request path speaks, and where each API's requests go upstream."""

from __future__ import annotations

from llmswitch.protocols.view import ClientApi

API_PATHS: dict[ClientApi, str] = {
    "chat": "/v1/chat/completions",
    "messages": "/v1/messages",
    "responses": "/v1/responses",
}


def client_api(path: str) -> ClientApi | None:
    """The API of a request path ending in one of `API_PATHS` (query string ignored); None for any other."""
    path = path.partition("?")[0]
    for api, suffix in API_PATHS.items():
        if path.endswith(suffix):
            return api
    return None
