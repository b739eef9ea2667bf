"""Which requests the router lets through, and which of them may carry a model's credential.

- The routed paths (`/v1/chat/completions`, `/v1/responses`, `/v1/messages`) take POST only.
- A JSON body on any other path that names a configured model is passed through to that model.
  A model with `api_key_env` gets such a request, with its key, only on the method and path its
  `passthrough_paths` allow-list names; any other is a 404, so a client's own credential never
  reaches a hosted API the router holds the key for.
- A request without a body (GET, DELETE, HEAD, OPTIONS, ...) never carries a credential: it goes to
  `default_model` as the client sent it when that model has no `api_key_env`, and is a 404 otherwise.
  `GET`/`HEAD` of `/v1/models` and `/v1/models/{id}` are answered by the router itself.
"""

from __future__ import annotations

from llmswitch.config.models import ModelConfig
from llmswitch.protocols.errors import RequestError

ROUTED_METHOD = "POST"


def method_not_allowed(method: str) -> RequestError:
    return RequestError(
        405, "method_not_allowed", f"{method} is not allowed here; use {ROUTED_METHOD}.", headers=(("allow", ROUTED_METHOD),)
    )


def unsupported_endpoint(method: str, path: str) -> RequestError:
    return RequestError(404, "unsupported_endpoint", f"{method} {path} is not available through this router.")


class EndpointPolicy:
    """Applies the rules above; `credentialed` names the models that have an upstream key."""

    def __init__(self, default_model: ModelConfig, credentialed: frozenset[str]) -> None:
        self.default_model = default_model
        self.credentialed = credentialed

    def check_routed(self, method: str) -> None:
        """A request on a routed path: POST only."""
        if method != ROUTED_METHOD:
            raise method_not_allowed(method)

    def passthrough_credential(self, model: ModelConfig, method: str, path: str) -> bool:
        """Whether a body on an unrouted path goes to `model` with its key; raises 404 if it may not go at all."""
        if model.name not in self.credentialed:
            return False
        if (method, path.partition("?")[0]) in model.passthrough_endpoints:
            return True
        raise unsupported_endpoint(method, path.partition("?")[0])
