"""Organisations joining and leaving a running network, one step per consortium action.

Adding an organisation, as a real consortium does it:

1. ``prepare``: the new organisation makes its CA, identities and chaincode package, and
   publishes its MSP definition (what the channel config will hold for it);
2. ``propose_add``: a member fetches the channel config and computes the update file;
3. ``sign``: a majority of the members' admins sign the file, each with its own key;
4. ``submit``: a member sends it to the ordering service;
5. ``join``: the new organisation starts its peer and chaincode service, joins the channel,
   installs the chaincode and approves its definition.

Removing one is ``propose_remove``, ``sign`` and ``submit``; after the update commits, the
launcher stops the organisation's nodes and records that it left. ``add`` and ``remove`` run
every step for the local demo.

Example::

    members = Consortium(NativeNetwork(root))
    members.add("Org4")            # prepare, propose, sign by a majority, submit, join
    members.remove("Org3")
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from fedfabric.admin import ca, chaincode, channel, configupdate, crypto, ports
from fedfabric.admin.configupdate import UpdateSummary
from fedfabric.admin.errors import AdminError
from fedfabric.admin.launcher import NativeNetwork
from fedfabric.admin.progress import Progress, SilentProgress
from fedfabric.admin.topology import Org, Topology


class Consortium:
    """The membership of one network's channel, administered through config updates."""

    def __init__(self, network: NativeNetwork, progress: Progress | None = None) -> None:
        self.net = network
        self.layout = network.layout
        self.p = progress or SilentProgress()

    @property
    def topology(self) -> Topology:
        return self.net.topology

    # ---- finding organisations --------------------------------------------------------------
    def member(self, name: str) -> Org:
        try:
            return self.topology.org(name)
        except KeyError as e:
            raise AdminError(str(e.args[0])) from None

    def pending(self, name: str) -> Org:
        for org in self.net.pending_orgs():
            if name.lower() in (org.name.lower(), org.msp_id.lower()):
                return org
        nxt = self.topology.next_org()
        raise AdminError(f"{name} is not preparing to join: run `fedfabric org prepare "
                         f"{nxt.name}` first" if name.lower() == nxt.name.lower() else
                         f"no organisation {name!r} is preparing to join")

    def definition_file(self, org: Org) -> Path:
        return self.layout.updates / f"{org.name.lower()}-definition.json"

    # ---- 1. the new organisation prepares -------------------------------------------------
    def prepare(self, name: str) -> Org:
        """Make the next organisation's CA, identities, chaincode package and MSP definition.

        Organisations are numbered: name must be the next one (Org4 after Org1..Org3).
        """
        topo = self.topology
        for org in self.net.pending_orgs():
            if name.lower() == org.name.lower():
                return org  # prepared already
            raise AdminError(f"{org.name} is still joining: finish with `fedfabric org join "
                             f"{org.name}` before preparing another organisation")
        try:
            org = topo.next_org()
        except ValueError as e:
            raise AdminError(str(e)) from e
        if name.lower() != org.name.lower():
            raise AdminError(f"the next organisation of this network is {org.name} "
                             f"(organisations are numbered), not {name!r}")
        ports.check_free(org.ports if topo.crypto == "ca" else org.ports[:4])
        made = [self.layout.chaincode_dir(org), crypto.org_dir(self.layout.crypto, org)]
        pending = self.net.state().get("pending", [])
        self.net.update_state(pending=[*pending, org.number])  # its CA is one of the network's
        try:
            if topo.crypto == "ca":
                c = ca.org_ca(self.layout, org)
                made.append(c.server.parent)
                with self.p.step(f"start {org.name}'s certificate authority"):
                    ca.init_server(c)
                    self.net.start_cas([c])
                with self.p.step(f"enrol {org.name}'s peer, Admin and User1"):
                    ca.bootstrap_org(self.layout, org)
            else:
                with self.p.step(f"generate {org.name}'s crypto material (cryptogen)"):
                    crypto.generate_org_crypto(topo, self.layout.crypto, org)
            with self.p.step(f"write {org.name}'s MSP definition and chaincode package"):
                definition = crypto.org_definition(topo, self.layout.crypto, org)
                self.definition_file(org).parent.mkdir(parents=True, exist_ok=True)
                self.definition_file(org).write_text(json.dumps(definition, indent=2))
                package = self.net.make_package(topo, org, self.net.sequence)
        except BaseException:
            self.net.stop_nodes([org.ca_name])
            for path in made:
                shutil.rmtree(path, ignore_errors=True)
            self.net.update_state(pending=pending)
            raise
        self.net.update_state(packages={**self.net.state()["packages"], org.msp_id: package})
        return org

    # ---- 2. a member proposes ----------------------------------------------------------------
    def _default_out(self, action: str, org: Org) -> Path:
        return self.layout.updates / f"{action}-{org.name.lower()}.pb"

    def propose_add(self, name: str, as_org: str | None = None, out: Path | None = None,
                    definition: Path | None = None) -> Path:
        """The update file that adds a prepared organisation (unsigned)."""
        org = self.pending(name)
        source = definition or self.definition_file(org)
        try:
            group: dict[str, Any] = json.loads(source.read_text())
        except (OSError, ValueError) as e:
            raise AdminError(f"cannot read {org.name}'s MSP definition {source}: {e}") from e
        member = self.member(as_org) if as_org else self.topology.org_list[0]
        with self.p.step(f"compute the update that adds {org.name} (as {member.name})"):
            config = configupdate.fetch_config(self.layout, self.topology, member)
            updated = configupdate.with_org(config, org.msp_id, group)
            return configupdate.compute_update(self.topology.channel, config, updated,
                                               out or self._default_out("add", org))

    def propose_remove(self, name: str, as_org: str | None = None,
                       out: Path | None = None) -> Path:
        """The update file that removes a member organisation (unsigned)."""
        org = self.member(name)
        others = [o for o in self.topology.org_list if o != org]
        if not others:
            raise AdminError("the channel's last organisation cannot leave it")
        member = self.member(as_org) if as_org else others[0]
        with self.p.step(f"compute the update that removes {org.name} (as {member.name})"):
            config = configupdate.fetch_config(self.layout, self.topology, member)
            updated = configupdate.without_org(config, org.msp_id)
            return configupdate.compute_update(self.topology.channel, config, updated,
                                               out or self._default_out("remove", org))

    # ---- 3. members sign, 4. one submits ---------------------------------------------------
    def sign(self, path: Path, as_org: str) -> UpdateSummary:
        """Add a member's admin signature to the update file."""
        org = self.member(as_org)
        before = self.summary(path)
        if org.msp_id in before.signers:
            raise AdminError(f"{org.name} has signed {path} already")
        with self.p.step(f"sign the update ({before.describe()}) as {org.name}'s admin"):
            configupdate.sign(self.layout, org, path)
        return self.summary(path)

    def summary(self, path: Path) -> UpdateSummary:
        """What the update file does to this network's membership, and who signed it."""
        return configupdate.summary(path, [o.msp_id for o in self.topology.org_list])

    def submit(self, path: Path, as_org: str | None = None) -> UpdateSummary:
        """Send the update to the orderers; when it commits, bring the launcher's record of
        the membership in line with the channel (a removed org's nodes are stopped)."""
        update = self.summary(path)
        if update.channel != self.topology.channel:
            raise AdminError(f"{path} updates channel {update.channel}, "
                             f"not {self.topology.channel}")
        members = {o.msp_id: o for o in self.topology.org_list}
        signer = next((members[m] for m in update.signers if m in members), None)
        org = self.member(as_org) if as_org else signer or self.topology.org_list[0]
        with self.p.step(f"submit the update ({update.describe()}) as {org.name}'s admin"):
            configupdate.submit(self.layout, self.topology, org, path)
            staying = [o for o in self.topology.org_list if o.msp_id not in update.removes]
            self.wait_applied(org, staying)
        self.reconcile()
        return update

    def wait_applied(self, org: Org, peers: list[Org] | None = None,
                     timeout: float = 60.0) -> None:
        """Wait (bounded) until the member peers have the channel's latest config block."""
        number = configupdate.config_block_number(self.layout, self.topology, org)
        self.net.wait_for_block(number, timeout, peers)

    def reconcile(self) -> list[Org]:
        """Record as removed (and stop) every member the channel config no longer has."""
        topo = self.topology
        config = configupdate.fetch_config(self.layout, topo, topo.org_list[0])
        in_channel = set(configupdate.application_orgs(config))
        gone = [o for o in topo.org_list if o.msp_id not in in_channel]
        for org in gone:
            with self.p.step(f"{org.name} left the channel: stop its nodes"):
                self.net.stop_nodes(self.net.org_nodes(org))
                topo = topo.with_removed(org)
                self.net.update_state(topology=topo)
        if gone and topo.store == "s3":
            with self.p.step(f"revoke the S3 store access of {', '.join(o.name for o in gone)}"):
                self.net.sync_store(topo)
        return gone

    # ---- 5. the new organisation joins -----------------------------------------------------
    def join(self, name: str) -> Org:
        """Start a prepared org's peer and chaincode service once the channel has it; join,
        install and approve the chaincode; record it as a member."""
        org = self.pending(name)
        topo = self.topology
        config = configupdate.fetch_config(self.layout, topo, topo.org_list[0])
        if org.msp_id not in configupdate.application_orgs(config):
            raise AdminError(f"the channel has no {org.name} yet: have a majority of the "
                             "members sign the update that adds it, and submit it")
        joined = topo.with_added(org)
        packages: dict[str, str] = self.net.state()["packages"]
        with self.p.step(f"start {org.peer_name}"):
            self.net.start_peers(joined)
        with self.p.step(f"{org.peer_name} joins channel {topo.channel}"):
            channel.join_peer(self.layout, org, topo.channel)
        with self.p.step(f"install the chaincode on {org.peer_name} and start its service"):
            chaincode.install(self.layout, org, packages[org.msp_id])
            self.net.start_chaincode(joined, packages)
        sequence = self.net.sequence
        with self.p.step(f"approve the chaincode definition (sequence {sequence}) "
                         f"for {org.name}"):
            chaincode.approve(self.layout, joined, org, packages[org.msp_id], sequence)
        pending = [n for n in self.net.state().get("pending", []) if n != org.number]
        self.net.update_state(topology=joined, pending=pending)
        with self.p.step(f"check the chaincode answers through {org.peer_name}"):
            self.net.wait_chaincode(org, 60.0)
        with self.p.step(f"wait until every peer sees {org.name} and it sees them (gossip)"):
            self.net.wait_for_gossip(joined)
        if joined.store == "s3":
            with self.p.step(f"give {org.name} its S3 store identity (writes under "
                             f"{org.msp_id}/)"):
                self.net.sync_store(joined)
        return org

    # ---- every step, for the local demo ----------------------------------------------------
    def signers_for(self, leaving: Org | None = None) -> list[Org]:
        """A majority of the members, the leaving org (if any) last."""
        members = [o for o in self.topology.org_list if o != leaving]
        if leaving is not None:
            members.append(leaving)
        return members[:self.topology.majority]

    def add(self, name: str, signers: list[str] | None = None) -> Org:
        org = self.prepare(name)
        path = self.propose_add(org.name)
        for signer in signers or [o.name for o in self.signers_for()]:
            self.sign(path, signer)
        self.submit(path)
        return self.join(org.name)

    def remove(self, name: str, signers: list[str] | None = None) -> Org:
        org = self.member(name)
        path = self.propose_remove(org.name)
        for signer in signers or [o.name for o in self.signers_for(org)]:
            self.sign(path, signer)
        self.submit(path)
        return org
