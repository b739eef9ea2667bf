"""The `header_mutation` plugin: set or remove upstream request headers (a later plugin wins)."""

from __future__ import annotations

from llmswitch.config.plugins import HeaderMutationPlugin
from llmswitch.pipeline.actions import Exchange
from llmswitch.pipeline.plan import Respond


class HeaderMutation:
    def __init__(self, config: HeaderMutationPlugin) -> None:
        self.assign = list(config.assign.items())
        self.remove = list(config.remove)

    async def apply(self, exchange: Exchange) -> Respond | None:
        if self.assign:
            exchange.set_upstream_headers(self.assign)
        if self.remove:
            exchange.remove_upstream_headers(self.remove)
        return None
