"""The egress step: the request the chosen model gets (its API, body, path and credential).

When the model speaks the client's API the request goes straight to it: the router renders the body
here. Otherwise the body leaves in the client's API, marked with the `x-llmswitch-egress` header, and
the model cluster's upstream filter translates it for each attempt (`pipeline.upstream`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from llmswitch import headers as names
from llmswitch.config import ConfigError, LoadedConfig
from llmswitch.config.models import ModelConfig
from llmswitch.pipeline.actions import Exchange
from llmswitch.pipeline.endpoints import EndpointPolicy
from llmswitch.pipeline.failover import FailoverChains
from llmswitch.pipeline.plan import Forward
from llmswitch.protocols.duplicate_keys import check_duplicate_keys
from llmswitch.protocols.errors import RequestError
from llmswitch.protocols.openai_chat import dump_json
from llmswitch.protocols.paths import passthrough_path, upstream_path
from llmswitch.protocols.translate import translate_request
from llmswitch.protocols.view import ClientApi

CREDENTIAL_HEADERS = ("authorization", "x-api-key", "api-key")


def upstream_credentials(loaded: LoadedConfig) -> dict[str, tuple[str, str]]:
    """model name -> (header, value) of its API key, from the environment variables the config names."""
    credentials, missing = {}, []
    for index, model in enumerate(loaded.config.models):
        if model.api_key_env is None:
            continue
        key = os.environ.get(model.api_key_env)
        if not key:
            missing.append(f"models[{index}].api_key_env: environment variable {model.api_key_env} is not set")
        elif model.key_header == "authorization":
            credentials[model.name] = ("authorization", f"Bearer {key}")
        else:
            credentials[model.name] = (model.key_header, key)
    if missing:
        raise ConfigError(loaded.source, missing)
    return credentials


class Egress:
    """Renders routed requests for the model they go to."""

    def __init__(self, loaded: LoadedConfig, deployed_chains: list[tuple[str, ...]] | None = None) -> None:
        config = loaded.config
        self.credentials = upstream_credentials(loaded)
        name_header = config.routing.model_name_header
        self.model_headers = {m.name: ((name_header, m.body_model),) if name_header else () for m in config.models}
        self.endpoints = EndpointPolicy(config.model(config.default_model), frozenset(self.credentials))
        self.max_body_bytes = config.router.max_body_bytes
        self._inject_stream_usage = config.accounting.enabled and config.accounting.inject_stream_usage
        self.chains = FailoverChains(config, deployed_chains)

    def prepare(self, data: dict[str, Any], model: ModelConfig, api: str) -> bool:
        """Name the model in `data` (and ask chat streams for usage when accounting is on); True if it changed."""
        changed = False
        if data.get("model") != model.body_model:
            data["model"] = model.body_model
            changed = True
        return self.ask_stream_usage(data) or changed if api == "chat" else changed

    def ask_stream_usage(self, data: dict[str, Any]) -> bool:
        """Ask a chat completions stream for its usage chunk when accounting is on and the client did not
        say `include_usage: false` (the observer then estimates its usage); True if `data` changed."""
        if not (self._inject_stream_usage and data.get("stream") is True):
            return False
        options = data.get("stream_options")
        if isinstance(options, dict) and "include_usage" in options:
            return False
        data["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
        return True

    def render_body(
        self, data: dict[str, Any], model: ModelConfig, api: ClientApi = "chat", changed: bool = False
    ) -> bytes | None:
        """The body for `model`, or None when nothing changed."""
        changed = self.prepare(data, model, api) or changed
        return dump_json(data) if changed else None

    def credential_headers(self, model: ModelConfig, client_headers: Mapping[str, str]) -> tuple[tuple[str, str] | None, list[str]]:
        """(the model's credential header, the client's credential headers to remove so they never reach it)."""
        credential = self.credentials.get(model.name)
        if credential is None:
            return None, []
        return credential, [h for h in CREDENTIAL_HEADERS if h != credential[0] and h in client_headers]

    def forward(self, exchange: Exchange) -> Forward:
        plan = exchange.plan
        model = plan.model
        request = exchange.request
        if plan.api is None:  # a path that is not routed by content: passed to the named model as it is
            plan.body = self._checked(self.render_body(plan.data, model, "", exchange.body_changed), request.body)
            if not self.endpoints.passthrough_credential(model, request.method, request.path):
                return self._forward(exchange, None, [])
            credential, remove = self.credential_headers(model, exchange.headers)
            path = passthrough_path(model.base_path, request.path)
            if path != request.path:
                exchange.upstream_headers.append((":path", path))
            return self._forward(exchange, credential, remove)
        target = model.wire_api(plan.api)
        if target != plan.api:  # translated per attempt by the model cluster's upstream filter
            # Translated here too, only to refuse what the model's API cannot express before anything is sent.
            translate_request(plan.data, plan.api, target, default_max_tokens=model.default_max_tokens)
            plan.body = self._checked(dump_json(plan.data) if exchange.body_changed else None, request.body)
            exchange.upstream_headers.append((names.EGRESS, plan.api))
            return self._forward(exchange, None, [])
        plan.body = self._checked(self.render_body(plan.data, model, plan.api, exchange.body_changed), request.body)
        credential, remove = self.credential_headers(model, exchange.headers)
        path = upstream_path(model.base_path, target, request.path)
        if path != request.path:
            exchange.upstream_headers.append((":path", path))
        if target == "messages" and "anthropic-version" not in exchange.headers:
            exchange.upstream_headers.append(("anthropic-version", model.anthropic_version))
        return self._forward(exchange, credential, remove)

    def _checked(self, body: bytes | None, sent: bytes) -> bytes | None:
        """The body the model gets, if it has one meaning and Envoy will take it.

        A body forwarded as the client sent it must not repeat a key the router read (the model might
        read the other value); a rewritten one holds each key once, with the value routing used. A
        rewritten body over Envoy's buffer limit would be a 413 from Envoy after routing (and after its
        budget reservation), so it is refused here."""
        if body is None:
            check_duplicate_keys(sent)
        elif len(body) > self.max_body_bytes:
            raise RequestError(
                413,
                "request_too_large",
                f"The request body grows to {len(body)} bytes when the router names the model, "
                f"over the limit of {self.max_body_bytes} bytes.",
            )
        return body

    def _forward(self, exchange: Exchange, credential: tuple[str, str] | None, remove: list[str]) -> Forward:
        plan = exchange.plan
        # The router's credential replaces the client's: a plugin's removal of its header is moot.
        remove += [h for h in exchange.removed_headers if h not in remove and (credential is None or h != credential[0])]
        return Forward(
            plan,
            plan.body,
            exchange.upstream_headers,
            credential,
            remove,
            model_headers=self.model_headers[plan.model.name],
            metadata=exchange.dynamic_metadata or None,
            on_abandon=exchange.on_abandon,
            cluster=self.chains.cluster(plan.decision, plan.model.name, plan.api) or "",
        )
