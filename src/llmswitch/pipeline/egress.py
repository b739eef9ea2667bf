"""The egress step: the request the chosen model gets (its body, its credential)."""

from __future__ import annotations

import os
from typing import Any

from llmswitch.config import ConfigError, LoadedConfig
from llmswitch.config.schema import ModelConfig
from llmswitch.pipeline.actions import Exchange
from llmswitch.pipeline.plan import Forward
from llmswitch.protocols.openai_chat import dump_json


def upstream_credentials(loaded: LoadedConfig) -> dict[str, tuple[str, str]]:
    """model name -> (header, value) of its API key, from the environment variables the config names."""
    credentials, missing = {}, []
    for index, model in enumerate(loaded.config.models):
        if model.api_key_env is None:
            continue
        key = os.environ.get(model.api_key_env)
        if key:
            credentials[model.name] = ("authorization", f"Bearer {key}")
        else:
            missing.append(f"models[{index}].api_key_env: environment variable {model.api_key_env} is not set")
    if missing:
        raise ConfigError(loaded.source, missing)
    return credentials


class Egress:
    """Renders routed requests for the model they go to."""

    def __init__(self, loaded: LoadedConfig) -> None:
        config = loaded.config
        self.credentials = upstream_credentials(loaded)
        self._inject_stream_usage = config.accounting.enabled and config.accounting.inject_stream_usage

    def render_body(self, data: dict[str, Any], model: ModelConfig, changed: bool = False) -> bytes | None:
        """Rewrite `model` (and ask streams for usage when accounting is on); None if nothing changed."""
        if data.get("model") != model.body_model:
            data["model"] = model.body_model
            changed = True
        if self._inject_stream_usage and data.get("stream") is True:
            options = data.get("stream_options")
            if not (isinstance(options, dict) and options.get("include_usage") is True):
                data["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
                changed = True
        return dump_json(data) if changed else None

    def forward(self, exchange: Exchange) -> Forward:
        plan = exchange.plan
        plan.body = self.render_body(plan.data, plan.model, exchange.body_changed)
        credential = self.credentials.get(plan.model.name)
        removed = exchange.removed_headers
        if credential is not None and credential[0] in removed:
            removed = [name for name in removed if name != credential[0]]  # the router's credential replaces it
        return Forward(plan, plan.body, exchange.upstream_headers, credential, removed)
