"""The upstream step of a translated request: one attempt at one model, in that model's API.

Envoy runs the cluster's upstream filter once per attempt. It sees the request as it left the routing
step, still in the client's API (marked with the `x-llmswitch-egress` header naming that API, or on a
failover chain's cluster named by it), and the model of the host the attempt goes to. The request is
translated for that model here, and its answer back into the client's API, chunk by chunk.

A failover attempt (a chain's model after the first) sees the headers as earlier attempts left them
(Envoy keeps upstream filters' header changes across attempts): the earlier models' credentials are
removed, this model's set, and the answer says which models failed (`x-llmswitch-failover`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmswitch import headers as names
from llmswitch.config.models import ModelConfig
from llmswitch.pipeline.egress import CREDENTIAL_HEADERS, Egress
from llmswitch.protocols.openai_chat import dump_json, load_json_object
from llmswitch.protocols.paths import API_PATHS, upstream_path
from llmswitch.protocols.translate import Translator, response_translator, translate_request
from llmswitch.protocols.view import ClientApi

DROPPED_FIELDS_HEADER = "x-llmswitch-dropped-fields"
FAILOVER_HEADER = "x-llmswitch-failover"
"""Response header of a request that failed over: the models that failed before this one answered."""


@dataclass
class UpstreamRequest:
    """What the attempt's request becomes: its body and header changes (content-length is the transport's)."""

    body: bytes
    set_headers: list[tuple[str, str]] = field(default_factory=list)
    remove_headers: list[str] = field(default_factory=list)


class UpstreamAttempt:
    def __init__(
        self,
        egress: Egress,
        model: ModelConfig,
        client_api: ClientApi,
        headers: Mapping[str, str],
        failed: list[ModelConfig] | None = None,
    ) -> None:
        self.egress = egress
        self.model = model
        self.client_api = client_api
        self.target: ClientApi = model.wire_api(client_api)  # type: ignore[assignment]
        self.headers = headers
        self.failed = failed or []
        """The chain's models tried before this one (a failover attempt)."""
        self._request: dict[str, Any] | None = None
        self._dropped: tuple[str, ...] = ()
        self._translator: Translator | None = None

    @property
    def translates_response(self) -> bool:
        return self.target != self.client_api

    @property
    def sees_response(self) -> bool:
        """The answer's headers are changed: translated, or marked as a failover's."""
        return self.translates_response or bool(self.failed)

    def request(self, body: bytes) -> UpstreamRequest:
        """The request in the model's API; raises `RequestError` for what that API cannot express."""
        model = self.model
        self._request = load_json_object(body)
        if self.client_api == "chat":  # the translated stream carries usage as a direct one would
            self.egress.ask_stream_usage(self._request)
        translated = translate_request(
            self._request, self.client_api, self.target, default_max_tokens=model.default_max_tokens
        )
        self._dropped = translated.dropped
        data = dict(translated.body)
        self.egress.prepare(data, model, self.target)
        credential, remove = self.egress.credential_headers(model, self.headers)
        if any(m.api_key_env is not None for m in self.failed):  # an earlier model's key: never sent on
            remove = [h for h in CREDENTIAL_HEADERS if h in self.headers and (credential is None or h != credential[0])]
        _, query, rest = self.headers.get(":path", "/").partition("?")
        client_path = API_PATHS[self.client_api] + query + rest if self.failed else self.headers.get(":path", "/")
        set_headers = [(":path", upstream_path(model.base_path, self.target, client_path))]
        if credential is not None:
            set_headers.append(credential)
        name_header = self.egress.model_headers[model.name]
        if self.failed and name_header:
            set_headers.extend(name_header)
        if self.target == "messages" and "anthropic-version" not in self.headers:
            set_headers.append(("anthropic-version", model.anthropic_version))
        return UpstreamRequest(dump_json(data), set_headers, [names.EGRESS, *remove])

    def response_headers(self, status: int, content_type: str) -> tuple[list[tuple[str, str]], list[str]]:
        """(headers to set, headers to remove) on the model's answer."""
        failover = [(FAILOVER_HEADER, ",".join(m.name for m in self.failed))] if self.failed else []
        if not self.translates_response:
            return failover, []
        self._translator = response_translator(self.target, self.client_api, status, content_type, request=self._request)
        set_headers = [("content-type", self._translator.content_type), *failover]
        if self._dropped:
            set_headers.append((DROPPED_FIELDS_HEADER, ",".join(self._dropped)))
        return set_headers, ["content-length"]

    def response_body(self, chunk: bytes, end_of_stream: bool) -> bytes:
        """The client-API bytes ready to send for this chunk of the answer (all the rest at its end)."""
        assert self._translator is not None, "response_headers comes first"
        out = self._translator.feed(chunk)
        return out + self._translator.finish() if end_of_stream else out
