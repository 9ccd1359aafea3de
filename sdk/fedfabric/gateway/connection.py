"""gRPC channels to peers. The application owns them and may share one between gateways."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

MAX_MESSAGE = 100 * 1024 * 1024  # as the peer allows


def tls_channel(address: str, tls_root_cert: bytes, server_name: str | None = None,
                options: Sequence[tuple[str, Any]] = ()) -> grpc.Channel:
    """A TLS channel to address, trusting tls_root_cert (override the name checked if needed)."""
    opts: list[tuple[str, Any]] = [("grpc.max_receive_message_length", MAX_MESSAGE),
                                   ("grpc.max_send_message_length", MAX_MESSAGE)]
    if server_name:
        opts.append(("grpc.ssl_target_name_override", server_name))
    opts.extend(options)
    credentials = grpc.ssl_channel_credentials(root_certificates=tls_root_cert)
    return grpc.secure_channel(address, credentials, options=opts)
