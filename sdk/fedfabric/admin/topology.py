"""The shape of a network: organisations, orderers, channel and the ports every node uses.

Ports come from one base port so that several networks (a user's and a test suite's) can run on
one machine side by side. With base B:

* orderer i (0-based): listen B+100+10i, admin B+101+10i, operations B+102+10i
* peer of org j (1-based, up to MAX_ORGS): listen B+200+10j, chaincode B+201+10j, operations
  B+202+10j, chaincode service B+203+10j; the org's CA B+204+10j, its operations B+205+10j
* the orderer organisation's CA: B+190, its operations B+191
* the S3 store (store="s3"): B+180 (natively it also uses B+181..B+187)

Organisations are numbered. `orgs` is how many the network was created with; an organisation
added later takes the next number never used (`added`), and a removed one keeps its number
(`removed`), so ports and names never change meaning.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace

MAX_ORGS = 32  # ports up to B+200+10*32+3; what bounds it on one machine: see the README
CHANNEL_PATTERN = re.compile(r"^[a-z][a-z0-9.-]{0,48}$")
BATCH_TIMEOUT_PATTERN = re.compile(r"^(\d+)(ms|s)$")
HOST = "127.0.0.1"
# Ports inside containers; the host reaches each node on its native port (published).
CONTAINER_PORTS = {"orderer": 7050, "orderer_admin": 7053, "peer": 7051, "chaincode": 9999,
                   "operations": 9443, "ca": 7054}
CRYPTO_MODES = ("ca", "cryptogen")
# The API's default stays cryptogen (fast: what the test suite's session network uses, and what
# networks saved before CAs existed were); `fedfabric network up` defaults to --crypto ca.
DEFAULT_CRYPTO = "cryptogen"
STORE_MODES = ("local", "s3")  # local: a directory under the network; s3: a SeaweedFS server
STORE_PORTS = 8  # natively: S3, master, volume, filer and their gRPC ports


@dataclass(frozen=True)
class Orderer:
    index: int
    base_port: int
    domain: str = "example.com"

    @property
    def name(self) -> str:
        return f"orderer{self.index}.{self.domain}"

    @property
    def port(self) -> int:
        return self.base_port + 100 + 10 * self.index

    @property
    def admin_port(self) -> int:
        return self.port + 1

    @property
    def operations_port(self) -> int:
        return self.port + 2

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"


@dataclass(frozen=True)
class Org:
    number: int
    base_port: int

    @property
    def name(self) -> str:
        return f"Org{self.number}"

    @property
    def msp_id(self) -> str:
        return f"Org{self.number}MSP"

    @property
    def domain(self) -> str:
        return f"org{self.number}.example.com"

    @property
    def peer_name(self) -> str:
        return f"peer0.{self.domain}"

    @property
    def peer_port(self) -> int:
        return self.base_port + 200 + 10 * self.number

    @property
    def chaincode_port(self) -> int:
        return self.peer_port + 1

    @property
    def operations_port(self) -> int:
        return self.peer_port + 2

    @property
    def ccaas_port(self) -> int:
        return self.peer_port + 3

    @property
    def ca_port(self) -> int:
        return self.peer_port + 4

    @property
    def ca_operations_port(self) -> int:
        return self.peer_port + 5

    @property
    def ca_name(self) -> str:
        return f"ca.{self.domain}"

    @property
    def ports(self) -> tuple[int, ...]:
        """The host ports of the org's peer, chaincode service and CA."""
        return (self.peer_port, self.chaincode_port, self.operations_port, self.ccaas_port,
                self.ca_port, self.ca_operations_port)

    @property
    def peer_address(self) -> str:
        return f"{HOST}:{self.peer_port}"

    @property
    def ccaas_address(self) -> str:
        return f"{HOST}:{self.ccaas_port}"


@dataclass(frozen=True)
class OrdererOrgCA:
    """The orderer organisation's CA."""

    base_port: int
    domain: str = "example.com"
    name: str = "OrdererOrg"
    msp_id: str = "OrdererMSP"

    @property
    def ca_name(self) -> str:
        return f"ca.{self.domain}"

    @property
    def ca_port(self) -> int:
        return self.base_port + 190

    @property
    def ca_operations_port(self) -> int:
        return self.base_port + 191


@dataclass(frozen=True)
class Topology:
    """What `fedfabric network up` builds; stored with the network so that `up` can resume it."""

    orgs: int = 3
    orderers: int = 3
    channel: str = "fedfabric"
    chaincode: str = "fedfabric"
    base_port: int = 7000
    # How long an orderer waits for more transactions before it cuts a block. Measured on 2
    # cores (bench/ledger.py): one client's commit takes 117 ms at 100ms (266 ms at 250ms), and
    # 32 clients commit 157 tx/s (94 at 250ms). A round costs four block cuts. A block is also
    # cut as soon as it holds one transaction per organisation (crypto.configtx).
    batch_timeout: str = "100ms"
    runtime: str = "native"  # native: processes on 127.0.0.1; docker: one container per node
    crypto: str = DEFAULT_CRYPTO  # ca: each org's Fabric CA enrols its identities; or cryptogen
    added: tuple[int, ...] = ()  # numbers of organisations that joined after creation
    removed: tuple[int, ...] = ()  # numbers of organisations that left
    store: str = "local"  # s3: the network runs an S3 server, one identity per organisation

    def __post_init__(self) -> None:
        object.__setattr__(self, "added", tuple(int(n) for n in self.added))
        object.__setattr__(self, "removed", tuple(int(n) for n in self.removed))
        if not 1 <= self.orgs <= MAX_ORGS:
            raise ValueError(f"orgs must be between 1 and {MAX_ORGS}, not {self.orgs}")
        if self.orderers not in (1, 3):
            raise ValueError(f"orderers must be 1 or 3, not {self.orderers}")
        if not CHANNEL_PATTERN.match(self.channel):
            raise ValueError(
                f"channel name {self.channel!r} must match {CHANNEL_PATTERN.pattern}"
            )
        timeout = BATCH_TIMEOUT_PATTERN.match(self.batch_timeout)
        if timeout is None or not 10 <= int(timeout[1]) * (1000 if timeout[2] == "s" else 1) \
                <= 10_000:
            raise ValueError(f"batch timeout must be from 10ms to 10s, written like 100ms or "
                             f"2s, not {self.batch_timeout!r}")
        if self.runtime not in ("native", "docker"):
            raise ValueError(f"runtime must be native or docker, not {self.runtime!r}")
        if not 1024 <= self.base_port <= 65000 - 200 - 10 * (MAX_ORGS + 1):
            raise ValueError(f"base port {self.base_port} leaves no room for the node ports")
        if self.crypto not in CRYPTO_MODES:
            raise ValueError(f"crypto must be one of {', '.join(CRYPTO_MODES)}, "
                             f"not {self.crypto!r}")
        if self.store not in STORE_MODES:
            raise ValueError(f"store must be one of {', '.join(STORE_MODES)}, "
                             f"not {self.store!r}")
        for n in self.added:
            if not self.orgs < n <= MAX_ORGS:
                raise ValueError(f"an added organisation's number must be between "
                                 f"{self.orgs + 1} and {MAX_ORGS}, not {n}")
        if len(set(self.added)) != len(self.added) or len(set(self.removed)) != len(
                self.removed):
            raise ValueError("an organisation is added or removed once")
        if not set(self.removed) <= set(range(1, self.orgs + 1)) | set(self.added):
            raise ValueError(f"removed organisations {list(self.removed)} were never members")
        if not self.org_list:
            raise ValueError("a network keeps at least one organisation")

    @property
    def numbers(self) -> list[int]:
        """Every organisation number ever used, members or not."""
        return [*range(1, self.orgs + 1), *self.added]

    @property
    def org_list(self) -> list[Org]:
        """The current member organisations."""
        return [Org(n, self.base_port) for n in self.numbers if n not in self.removed]

    @property
    def members(self) -> int:
        return len(self.org_list)

    @property
    def majority(self) -> int:
        """How many member organisations a MAJORITY policy needs."""
        return self.members // 2 + 1

    def next_org(self) -> Org:
        """The organisation a new member becomes: the next number never used."""
        number = max(self.numbers) + 1
        if number > MAX_ORGS:
            raise ValueError(f"a network has at most {MAX_ORGS} organisations over its life")
        return Org(number, self.base_port)

    def with_added(self, org: Org) -> Topology:
        return replace(self, added=(*self.added, org.number))

    def with_removed(self, org: Org) -> Topology:
        return replace(self, removed=(*self.removed, org.number))

    @property
    def orderer_ca(self) -> OrdererOrgCA:
        return OrdererOrgCA(self.base_port)

    def ports(self) -> list[int]:
        """Every host port the network's nodes listen on."""
        ports = [p for o in self.orderer_list for p in (o.port, o.admin_port, o.operations_port)]
        for org in self.org_list:
            ports += org.ports if self.crypto == "ca" else org.ports[:4]
        if self.crypto == "ca":
            ports += [self.orderer_ca.ca_port, self.orderer_ca.ca_operations_port]
        return ports + self.store_ports()

    @property
    def store_port(self) -> int:
        """The S3 endpoint's port on the host (store="s3")."""
        return self.base_port + 180

    def store_ports(self) -> list[int]:
        """The host ports the S3 store uses: a container publishes only the S3 port."""
        if self.store != "s3":
            return []
        return [self.store_port] if self.docker else [
            self.store_port + i for i in range(STORE_PORTS)]

    @property
    def orderer_list(self) -> list[Orderer]:
        return [Orderer(i, self.base_port) for i in range(self.orderers)]

    @property
    def docker(self) -> bool:
        return self.runtime == "docker"

    def orderer_endpoint(self, o: Orderer) -> tuple[str, int]:
        """Where other nodes reach an orderer (in containers: its hostname, standard port)."""
        return (o.name, CONTAINER_PORTS["orderer"]) if self.docker else (HOST, o.port)

    def peer_endpoint(self, org: Org) -> tuple[str, int]:
        return (org.peer_name, CONTAINER_PORTS["peer"]) if self.docker else (HOST, org.peer_port)

    def chaincode_endpoint(self, org: Org) -> str:
        """Where the org's peer dials its chaincode service."""
        if self.docker:
            return f"chaincode.{org.domain}:{CONTAINER_PORTS['chaincode']}"
        return org.ccaas_address

    def org(self, name: str) -> Org:
        """A member org by name ("Org2", "org2") or MSP id ("Org2MSP")."""
        for org in self.org_list:
            if name.lower() in (org.name.lower(), org.msp_id.lower()):
                return org
        known = ", ".join(o.name for o in self.org_list)
        raise KeyError(f"no organisation {name!r} in this network (it has {known})")

    def differences(self, other: Topology) -> list[str]:
        """Human-readable 'field: mine -> other' for every field that differs."""
        return [f"{f.name} {getattr(self, f.name)} -> {getattr(other, f.name)}"
                for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Topology:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values.setdefault("crypto", "cryptogen")  # saved before CAs existed
        values.setdefault("store", "local")  # saved before S3 stores existed
        for key in ("added", "removed"):
            values[key] = tuple(values.get(key) or ())  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]
