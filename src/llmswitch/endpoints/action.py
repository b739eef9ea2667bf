"""The endpoint pick as a pipeline action: which replica of the chosen model serves the request.

Envoy is told the way the Gateway API Inference Extension's endpoint-picker protocol specifies:
the `x-gateway-destination-endpoint` header and the same value in the `envoy.lb` dynamic metadata,
read by the model cluster's override-host load balancing policy (or a GIE gateway).
"""

from __future__ import annotations

from llmswitch.config.schema import Config
from llmswitch.endpoints.affinity import affinity_key
from llmswitch.endpoints.picker import EndpointPicker
from llmswitch.pipeline.actions import Exchange
from llmswitch.pipeline.plan import Respond
from llmswitch.protocols.errors import RequestError


def no_endpoint(model: str) -> RequestError:
    return RequestError(503, "no_endpoint", f"No endpoint of model {model!r} is available.", type="server_error")


class PickEndpoint:
    def __init__(self, picker: EndpointPicker, config: Config) -> None:
        self.picker = picker
        picking = config.endpoint_picking
        self.header = picking.destination_header
        self.namespace = picking.metadata_namespace
        self.session_header = picking.affinity.session_header if picking.affinity.enabled else None
        # The first replica, then one per retry Envoy may make.
        self.limit = 1 + config.routing.retries.num_retries

    async def apply(self, exchange: Exchange) -> Respond | None:
        request = exchange.request
        model = exchange.plan.model
        if not model.replicated and request.endpoint_subset is None and not request.endpoint_required:
            return None
        conversation = affinity_key(exchange.view, request.headers, self.session_header)
        pick = self.picker.pick(
            model.name, conversation, request.endpoint_subset, request.endpoint_required, self.limit
        )
        if pick is None:
            if request.endpoint_required:
                raise no_endpoint(model.name)
            return None  # no fresh metrics: Envoy's own balancing
        value = ",".join(pick.addresses)
        exchange.upstream_headers.append((self.header, value))
        exchange.dynamic_metadata[self.namespace] = {self.header: value}
        return None
