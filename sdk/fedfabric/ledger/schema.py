"""The records the chaincode keeps, as dataclasses (field names are the JSON keys)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
JSON = dict[str, Any]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    bookmark: str  # "" on the last page


@dataclass(frozen=True)
class Dataset:
    id: str
    name: str
    sha256: str
    uri: str
    schema: JSON
    rows: int
    encryption: JSON
    owner_msp: str
    registered_by: str
    created_at: str
    tx_id: str
    version: int = 1  # the data key's: a rotation after a revocation makes a new one
    rotated_at: str | None = None


@dataclass(frozen=True)
class Grant:
    dataset_id: str
    grantee_msp: str
    grantee_id: str
    purpose: str
    expires_at: str
    status: str
    granted_by: str
    granted_at: str
    tx_id: str
    revoked_at: str | None = None
    wrapped_key: str | None = None


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: str
    grant: Grant | None = None


@dataclass(frozen=True)
class AccessEntry:
    dataset_id: str
    msp_id: str
    identity: str
    purpose: str
    time: str
    tx_id: str


@dataclass(frozen=True)
class Participant:
    """An organisation training on one of its datasets, declaring at most max_samples per round
    (at most the dataset's rows). wrapped_key: sha256 of the task's HE secret wrapped to the
    organisation's published key (single-key schemes)."""

    msp_id: str
    dataset_id: str
    max_samples: int
    wrapped_key: str = ""


@dataclass(frozen=True)
class TaskSpec:
    """What CreateTask takes: the terms every participant accepts by joining."""

    id: str
    app_hash: str
    model_spec_hash: str
    initial_weights_hash: str
    initial_weights_uri: str
    he_scheme: str
    he_context_hash: str
    he_context_uri: str
    participants: list[Participant]
    rounds: int
    min_updates: int
    quorum: int
    round_timeout: int = 0  # seconds; 0 = none
    threshold: int = 0  # t of threshold-ckks: any t members decrypt together; 0 otherwise
    strategy: str = "fedavg"
    hyperparameters: JSON = field(default_factory=dict)


@dataclass(frozen=True)
class Task(TaskSpec):
    terms_hash: str = ""
    initiator_msp: str = ""
    created_by: str = ""
    status: str = ""  # PENDING -> ACTIVE -> COMPLETED | CANCELLED | FAILED
    members: list[str] = field(default_factory=list)  # the participants that joined in time
    collective_key_hash: str | None = None  # threshold-ckks: the members' endorsed key
    current_round: int = 0
    failure_reason: str | None = None
    created_at: str = ""
    started_at: str | None = None
    updated_at: str = ""
    tx_id: str = ""

    def participant(self, msp_id: str) -> Participant | None:
        return next((p for p in self.participants if p.msp_id == msp_id), None)

    @property
    def done(self) -> bool:
        return self.status in ("COMPLETED", "CANCELLED", "FAILED")


@dataclass(frozen=True)
class Join:
    task_id: str
    msp_id: str
    joined_by: str
    terms_hash: str
    time: str
    tx_id: str
    key_share: str | None = None  # threshold-ckks: the sha256 of its key bundle


@dataclass(frozen=True)
class KeyEndorsement:
    task_id: str
    msp_id: str
    endorsed_by: str
    key_hash: str
    time: str
    tx_id: str


@dataclass(frozen=True)
class DecryptionShare:
    task_id: str
    round: int
    attempt: int
    msp_id: str
    posted_by: str
    share_hash: str
    time: str
    tx_id: str
    aggregate_hash: str = ""  # the aggregate it decrypts (posted with an endorsement: attempt 0)


@dataclass(frozen=True)
class Included:
    msp_id: str
    manifest_hash: str
    samples: int


@dataclass(frozen=True)
class Round:
    task_id: str
    round: int
    status: str
    opened_at: str
    closed_at: str | None = None
    included: list[Included] = field(default_factory=list)
    total_samples: int = 0
    finalized_at: str | None = None
    final_hash: str | None = None
    final_uri: str | None = None


@dataclass(frozen=True)
class Update:
    task_id: str
    round: int
    msp_id: str
    submitted_by: str
    manifest_hash: str
    shards: int
    samples: int
    dataset_id: str
    time: str
    tx_id: str


@dataclass(frozen=True)
class Endorsement:
    task_id: str
    round: int
    msp_id: str
    endorsed_by: str
    aggregate_hash: str
    aggregate_uri: str
    time: str
    tx_id: str
    share_hash: str = ""  # threshold-ckks: its decryption share of the aggregate (attempt 0)


@dataclass(frozen=True)
class RoundMetrics:
    """What one participant measured of a round's global model on its own held-out data."""

    task_id: str
    round: int
    msp_id: str
    recorded_by: str
    metrics: JSON
    time: str
    tx_id: str


@dataclass(frozen=True)
class RoundHistory(Round):
    updates: list[Update] = field(default_factory=list)
    endorsements: list[Endorsement] = field(default_factory=list)
    metrics: list[RoundMetrics] = field(default_factory=list)


@dataclass(frozen=True)
class TaskHistory:
    task: Task
    rounds: list[RoundHistory]
    joins: list[Join] = field(default_factory=list)


@dataclass(frozen=True)
class OrgKey:
    msp_id: str
    algorithm: str
    public_key: str
    published_by: str
    time: str
    tx_id: str


@dataclass(frozen=True)
class Provenance:
    type: str  # task | external
    task_id: str | None = None
    round: int | None = None
    description: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    """What RegisterModel takes."""

    name: str
    version: str
    provenance: Provenance
    weights_hash: str
    weights_uri: str
    framework: str
    metrics: JSON = field(default_factory=dict)
    input_spec: JSON = field(default_factory=dict)
    users: list[str] = field(default_factory=list)  # allowed besides the owner, task members


@dataclass(frozen=True)
class Model(ModelSpec):
    owner_msp: str = ""
    registered_by: str = ""
    status: str = ""
    created_at: str = ""
    updated_at: str = ""
    tx_id: str = ""


@dataclass(frozen=True)
class Attestation:
    name: str
    version: str
    msp_id: str
    attested_by: str
    metrics: JSON
    time: str
    tx_id: str
    dataset_hash: str | None = None


@dataclass(frozen=True)
class WeightsAttestation:
    """A provenance task member's statement of the final weights hash it computed."""

    name: str
    version: str
    msp_id: str
    attested_by: str
    weights_hash: str
    agrees: bool
    time: str
    tx_id: str


@dataclass(frozen=True)
class ModelView:
    model: Model
    attestations: list[Attestation]
    weights_attestations: list[WeightsAttestation] = field(default_factory=list)


@dataclass(frozen=True)
class Lineage:
    model: Model
    task: Task | None = None
    rounds: list[RoundHistory] = field(default_factory=list)


@dataclass(frozen=True)
class Inference:
    id: str
    name: str
    version: str
    input_hash: str
    output_hash: str
    msp_id: str
    recorded_by: str
    time: str
    tx_id: str


@dataclass(frozen=True)
class Verdict:
    inference_id: str
    msp_id: str
    attested_by: str
    output_hash: str
    verdict: str
    time: str
    tx_id: str


@dataclass(frozen=True)
class InferenceView(Inference):
    status: str = "UNVERIFIED"  # the majority's verdict; CONTESTED on a tie
    verified: int = 0
    disputed: int = 0
    verdicts: list[Verdict] = field(default_factory=list)


@dataclass(frozen=True)
class Event:
    """A state change the chaincode announced; ``data`` is its JSON payload."""

    name: str
    data: JSON
    transaction_id: str
    block_number: int | None = None
