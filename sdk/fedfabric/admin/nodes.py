"""Environment of each native process: orderers, peers, the peer CLI as org admin, chaincode."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fedfabric.admin.fabric import fabric_bin
from fedfabric.admin.layout import Layout
from fedfabric.admin.topology import HOST, Orderer, Org


def _base(layout: Layout) -> dict[str, str]:
    # GOGC, GOMEMLIMIT and GOMAXPROCS size the Go runtime of every node (see the README).
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "TZ", "GOGC", "GOMEMLIMIT", "GOMAXPROCS")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["FABRIC_CFG_PATH"] = str(layout.config)
    return env


def orderer_command(layout: Layout, o: Orderer) -> tuple[list[str], dict[str, str]]:
    node, tls = layout.orderer_node(o), layout.orderer_node(o) / "tls"
    data = layout.data(o.name)
    env = _base(layout) | {
        "FABRIC_LOGGING_SPEC": "INFO",
        "ORDERER_GENERAL_LISTENADDRESS": HOST,
        "ORDERER_GENERAL_LISTENPORT": str(o.port),
        "ORDERER_GENERAL_LOCALMSPID": "OrdererMSP",
        "ORDERER_GENERAL_LOCALMSPDIR": str(node / "msp"),
        "ORDERER_GENERAL_TLS_ENABLED": "true",
        "ORDERER_GENERAL_TLS_PRIVATEKEY": str(tls / "server.key"),
        "ORDERER_GENERAL_TLS_CERTIFICATE": str(tls / "server.crt"),
        "ORDERER_GENERAL_TLS_ROOTCAS": f"[{tls / 'ca.crt'}]",
        "ORDERER_GENERAL_BOOTSTRAPMETHOD": "none",
        "ORDERER_CHANNELPARTICIPATION_ENABLED": "true",
        "ORDERER_FILELEDGER_LOCATION": str(data / "ledger"),
        "ORDERER_CONSENSUS_WALDIR": str(data / "etcdraft" / "wal"),
        "ORDERER_CONSENSUS_SNAPDIR": str(data / "etcdraft" / "snapshot"),
        "ORDERER_ADMIN_LISTENADDRESS": f"{HOST}:{o.admin_port}",
        "ORDERER_ADMIN_TLS_ENABLED": "true",
        "ORDERER_ADMIN_TLS_PRIVATEKEY": str(tls / "server.key"),
        "ORDERER_ADMIN_TLS_CERTIFICATE": str(tls / "server.crt"),
        "ORDERER_ADMIN_TLS_ROOTCAS": f"[{tls / 'ca.crt'}]",
        "ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED": "true",
        "ORDERER_ADMIN_TLS_CLIENTROOTCAS": f"[{tls / 'ca.crt'}]",
        "ORDERER_OPERATIONS_LISTENADDRESS": f"{HOST}:{o.operations_port}",
        "ORDERER_METRICS_PROVIDER": "prometheus",
    }
    return [str(fabric_bin("orderer"))], env


def peer_command(layout: Layout, org: Org) -> tuple[list[str], dict[str, str]]:
    node, tls = layout.peer_node(org), layout.peer_node(org) / "tls"
    data = layout.data(org.peer_name)
    env = _base(layout) | {
        "FABRIC_LOGGING_SPEC": "INFO:gossip,discovery,comm.grpc.server=WARNING",
        "CORE_PEER_ID": org.peer_name,
        "CORE_PEER_ADDRESS": org.peer_address,
        "CORE_PEER_LISTENADDRESS": org.peer_address,
        "CORE_PEER_CHAINCODEADDRESS": f"{HOST}:{org.chaincode_port}",
        "CORE_PEER_CHAINCODELISTENADDRESS": f"{HOST}:{org.chaincode_port}",
        "CORE_PEER_GOSSIP_BOOTSTRAP": org.peer_address,
        "CORE_PEER_GOSSIP_EXTERNALENDPOINT": org.peer_address,
        "CORE_PEER_LOCALMSPID": org.msp_id,
        "CORE_PEER_MSPCONFIGPATH": str(node / "msp"),
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_CERT_FILE": str(tls / "server.crt"),
        "CORE_PEER_TLS_KEY_FILE": str(tls / "server.key"),
        "CORE_PEER_TLS_ROOTCERT_FILE": str(tls / "ca.crt"),
        "CORE_PEER_FILESYSTEMPATH": str(data),
        "CORE_LEDGER_SNAPSHOTS_ROOTDIR": str(data / "snapshots"),
        "CORE_OPERATIONS_LISTENADDRESS": f"{HOST}:{org.operations_port}",
        "CORE_METRICS_PROVIDER": "prometheus",
    }
    return [str(fabric_bin("peer")), "node", "start"], env


def admin_env(layout: Layout, org: Org) -> dict[str, str]:
    """Environment for the peer CLI acting as the org's admin against its peer."""
    return _base(layout) | {
        "FABRIC_LOGGING_SPEC": "WARNING",
        "CORE_PEER_LOCALMSPID": org.msp_id,
        "CORE_PEER_MSPCONFIGPATH": str(layout.user_msp(org, "Admin")),
        "CORE_PEER_ADDRESS": org.peer_address,
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_ROOTCERT_FILE": str(layout.peer_tls_ca(org)),
    }


def chaincode_command(
    layout: Layout, org: Org, binary: Path, package_id: str
) -> tuple[list[str], dict[str, str]]:
    """The org's chaincode service, run under the restarting supervisor."""
    tls = layout.chaincode_dir(org) / "tls"
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    env |= {
        "CHAINCODE_ID": package_id,
        "CHAINCODE_SERVER_ADDRESS": org.ccaas_address,
        "CHAINCODE_TLS_CERT_FILE": str(tls / "server.crt"),
        "CHAINCODE_TLS_KEY_FILE": str(tls / "server.key"),
    }
    cmd = [sys.executable, "-m", "fedfabric.admin.supervise", "--", str(binary)]
    return cmd, env
