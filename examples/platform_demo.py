"""The platform demo: one org writes a record, the two others read it, then what the chain holds.

Run after `fedfabric network up` (make demo does both):  python examples/platform_demo.py [DIR]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fedfabric.admin import NativeNetwork
from fedfabric.admin.layout import default_network_dir
from fedfabric.gateway import ConnectionProfile


def main(network_dir: Path) -> None:
    console = Console()
    network = NativeNetwork(network_dir)
    profile = ConnectionProfile.from_dict(network.profile())
    record_id = f"greeting-{int(time.time())}"
    value = {"message": "hello from Org1", "purpose": "platform demo"}

    writer = profile.connect("Org1")
    contract = writer.get_network(profile.channel).get_contract(profile.chaincode)
    submitted = contract.submit_async("PutRecord", args=[record_id, json.dumps(value)])
    status = submitted.status()
    writer.close()
    console.print(f"[bold]Org1 wrote[/bold] record {record_id!r}: transaction "
                  f"{status.transaction_id[:16]}… committed {status.code_name} "
                  f"in block {status.block_number}")

    table = Table(title="The same record read through each organisation's own peer")
    for col in ("reader", "peer", "owner_msp", "value", "tx_id"):
        table.add_column(col)
    for org in ("Org2", "Org3"):
        gateway = profile.connect(org)
        reader = gateway.get_network(profile.channel).get_contract(profile.chaincode)
        record = json.loads(reader.evaluate_transaction("GetRecord", record_id))
        gateway.close()
        table.add_row(org, profile.org(org).peers[0].address, record["owner_msp"],
                      json.dumps(record["value"]), record["tx_id"][:16] + "…")
    console.print(table)

    reader = profile.connect("Org3")
    events = reader.get_network(profile.channel).chaincode_events(
        profile.chaincode, start_block=status.block_number, timeout=30)
    with events:
        event = next(e for e in events if e.transaction_id == status.transaction_id)
    reader.close()
    recorded = json.loads(event.payload)
    chain = Table(title="What the chain recorded (the transaction's event, read by Org3)")
    for col in ("block", "transaction", "event", "record", "writer", "time (from the tx)"):
        chain.add_column(col, overflow="fold")
    chain.add_row(str(event.block_number), event.transaction_id[:16] + "…", event.event_name,
                  recorded["id"], recorded["owner_msp"], recorded["timestamp"])
    console.print(chain)
    heights = Table(title="Channel height on every node")
    for col in ("node", "health", "height"):
        heights.add_column(col)
    for node in network.status():
        if node.kind != "chaincode":
            heights.add_row(node.name, "OK" if node.healthy else node.detail, str(node.height))
    console.print(heights)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default_network_dir())
