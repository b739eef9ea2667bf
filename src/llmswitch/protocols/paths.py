"""Which client API a request path speaks, and where each API's requests go upstream."""

from __future__ import annotations

from llmswitch.protocols.view import ClientApi

API_PATHS: dict[ClientApi, str] = {
    "chat": "/v1/chat/completions",
    "messages": "/v1/messages",
    "responses": "/v1/responses",
}
"""The paths routed by content, and the client API each speaks."""
_BY_PATH: dict[str, ClientApi] = {path: api for api, path in API_PATHS.items()}


def client_api(path: str) -> ClientApi | None:
    """The API of a routed request path (query string ignored); None for any other path."""
    return _BY_PATH.get(path.partition("?")[0])


def upstream_path(base_path: str, api: ClientApi, client_path: str) -> str:
    """The path of `api` below a model's `base_path` (e.g. /v1), keeping the client's query string."""
    _, query, rest = client_path.partition("?")
    return f"{base_path}{API_PATHS[api].removeprefix('/v1')}{query}{rest}"


def passthrough_path(base_path: str, client_path: str) -> str:
    """A `/v1/...` passthrough path below a model's `base_path`, keeping the client's query string."""
    return base_path + client_path.removeprefix("/v1") if base_path != "/v1" else client_path
