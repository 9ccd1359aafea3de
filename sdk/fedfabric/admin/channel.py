"""Channel membership: orderers join through osnadmin (mutual TLS), peers through the peer CLI."""

from __future__ import annotations

import json

from fedfabric.admin.crypto import run
from fedfabric.admin.fabric import fabric_bin
from fedfabric.admin.layout import Layout
from fedfabric.admin.nodes import admin_env
from fedfabric.admin.topology import HOST, Orderer, Org


def _osnadmin(layout: Layout, o: Orderer, *args: str) -> str:
    tls = layout.orderer_admin_tls
    return run([
        str(fabric_bin("osnadmin")), "channel", *args, "-o", f"{HOST}:{o.admin_port}",
        "--ca-file", str(layout.orderer_tls_ca),
        "--client-cert", str(tls / "client.crt"), "--client-key", str(tls / "client.key"),
    ])


def orderer_channels(layout: Layout, o: Orderer) -> list[str]:
    out = _osnadmin(layout, o, "list")
    body = json.loads(out[out.index("{"):])
    return [c["name"] for c in body.get("channels") or []]


def join_orderer(layout: Layout, o: Orderer, channel: str) -> None:
    if channel in orderer_channels(layout, o):
        return
    _osnadmin(layout, o, "join", "--channelID", channel,
              "--config-block", str(layout.genesis_block(channel)))


def peer_channels(layout: Layout, org: Org) -> list[str]:
    out = run([str(fabric_bin("peer")), "channel", "list"], env=admin_env(layout, org))
    lines = [ln.strip() for ln in out.splitlines()]
    header = "Channels peers has joined:"
    return [ln for ln in lines[lines.index(header) + 1:] if ln] if header in lines else []


def join_peer(layout: Layout, org: Org, channel: str) -> None:
    if channel in peer_channels(layout, org):
        return
    run([str(fabric_bin("peer")), "channel", "join", "-b", str(layout.genesis_block(channel))],
        env=admin_env(layout, org))
