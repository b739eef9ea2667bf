"""The router's own gRPC API (proto/llmswitch/v1/router.proto): explain a routing decision."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from llmswitch.pipeline import RoutingPipeline
from llmswitch.protocols.errors import RequestError
from llmswitch.v1 import router_pb2, router_pb2_grpc


async def explain(pipeline: RoutingPipeline, request: router_pb2.RouteRequest) -> router_pb2.RouteResponse:
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        plan = await pipeline.route_async(headers, request.body, request.path or "/v1/chat/completions")
    except RequestError as err:
        return router_pb2.RouteResponse(
            error=router_pb2.Error(http_status=err.status, type=err.type, code=err.code, message=err.message)
        )
    return router_pb2.RouteResponse(
        model=plan.model.name,
        decision=plan.decision,
        cluster=plan.model.cluster,
        algorithm=plan.algorithm,
        reason=plan.reason,
        signals=[router_pb2.SignalMatch(type=t, name=n, confidence=c) for t, n, c in plan.signals],
    )


class RouterApi(router_pb2_grpc.RouterServicer):
    def __init__(self, current_pipeline: Callable[[], RoutingPipeline]) -> None:
        self._current_pipeline = current_pipeline

    async def Route(
        self, request: router_pb2.RouteRequest, context: grpc.aio.ServicerContext
    ) -> router_pb2.RouteResponse:
        return await explain(self._current_pipeline(), request)
