"""An in-process gRPC server speaking the Gateway service, for tests without Fabric."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import proposal_response_pb2
from google.protobuf import any_pb2
from google.rpc import status_pb2


class FakeGateway(gateway_pb2_grpc.GatewayServicer):
    """Records requests; answers Evaluate with `result`, or fails with `failure` details."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.result = b"ok"
        self.failure: tuple[grpc.StatusCode, str, list[gateway_pb2.ErrorDetail]] | None = None

    def _fail(self, context: grpc.ServicerContext) -> None:
        code, message, details = self.failure  # type: ignore[misc]
        status = status_pb2.Status(code=code.value[0], message=message)
        for d in details:
            packed = any_pb2.Any()
            packed.Pack(d)
            status.details.append(packed)
        context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
        context.abort(code, message)

    def Evaluate(self, request, context):  # noqa: N802 (gRPC method name)
        self.requests.append(request)
        if self.failure:
            self._fail(context)
        return gateway_pb2.EvaluateResponse(result=proposal_response_pb2.Response(
            status=200, payload=self.result))

    def Endorse(self, request, context):  # noqa: N802
        self.requests.append(request)
        self._fail(context)


@contextmanager
def serve() -> Iterator[tuple[FakeGateway, grpc.Channel]]:
    fake = FakeGateway()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    gateway_pb2_grpc.add_GatewayServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield fake, channel
    finally:
        channel.close()
        server.stop(None)
