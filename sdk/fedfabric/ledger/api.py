"""Typed calls over each contract of the chaincode (see chaincode/contract.json)."""

from __future__ import annotations

import builtins
import dataclasses
import datetime
import json
from collections.abc import Iterator
from typing import Any

from fedfabric.ledger.calls import ContractCalls
from fedfabric.ledger.decode import decode
from fedfabric.ledger.schema import (
    AccessDecision,
    AccessEntry,
    Attestation,
    Dataset,
    DecryptionShare,
    Endorsement,
    Event,
    Grant,
    Inference,
    InferenceView,
    Join,
    KeyEndorsement,
    Lineage,
    Model,
    ModelSpec,
    ModelView,
    OrgKey,
    Page,
    Round,
    RoundMetrics,
    Task,
    TaskHistory,
    TaskSpec,
    Update,
    Verdict,
    WeightsAttestation,
)

DEFAULT_PAGE = 50


def _json(value: Any) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _time(value: datetime.datetime | str) -> str:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError("expiry must be timezone-aware")
        return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    return value


def _page(cls: Any, data: Any) -> Page[Any]:
    return Page([decode(cls, item) for item in data["items"]], data["bookmark"])


class Datasets:
    """Datasets, grants, access checks and the audit log (contract ``datasets``)."""

    def __init__(self, calls: ContractCalls) -> None:
        self._c = calls

    def register(self, id: str, name: str, sha256: str, uri: str, schema: dict[str, Any],
                 rows: int, encryption: dict[str, Any]) -> Dataset:
        event = self._c.submit("RegisterDataset", id, name, sha256, uri, _json(schema), str(rows),
                               _json(encryption))
        return decode(Dataset, event.data)

    def get(self, id: str) -> Dataset:
        return decode(Dataset, self._c.evaluate("GetDataset", id))

    def list(self, page_size: int = DEFAULT_PAGE, bookmark: str = "") -> Page[Dataset]:
        return _page(Dataset, self._c.evaluate("ListDatasets", str(page_size), bookmark))

    def grant(self, dataset_id: str, grantee_msp: str, purpose: str,
              expires_at: datetime.datetime | str, grantee_id: str = "",
              wrapped_key: str = "") -> Grant:
        """wrapped_key: sha256 of the dataset key wrapped to the grantee (fedfabric.data)."""
        event = self._c.submit("GrantAccess", dataset_id, grantee_msp, grantee_id, purpose,
                               _time(expires_at), wrapped_key)
        return decode(Grant, event.data)

    def revoke(self, dataset_id: str, grantee_msp: str, purpose: str,
               grantee_id: str = "") -> Grant:
        event = self._c.submit("RevokeGrant", dataset_id, grantee_msp, grantee_id, purpose)
        return decode(Grant, event.data)

    def rotate_key(self, dataset_id: str, sha256: str, uri: str, encryption: dict[str, Any],
                   wrapped_keys: dict[str, str]) -> Dataset:
        """Record a re-encryption under a new data key; wrapped_keys maps
        "grantee_msp|purpose|grantee_id" of every live grant to its new wrapped key's sha256."""
        event = self._c.submit("RotateDatasetKey", dataset_id, sha256, uri, _json(encryption),
                               _json(wrapped_keys))
        return decode(Dataset, event.data)

    def check(self, dataset_id: str, msp_id: str, purpose: str,
              identity: str = "") -> AccessDecision:
        return decode(AccessDecision,
                      self._c.evaluate("CheckAccess", dataset_id, msp_id, identity, purpose))

    def record_access(self, dataset_id: str, purpose: str) -> AccessEntry:
        return decode(AccessEntry, self._c.submit("RecordAccess", dataset_id, purpose).data)

    def grants(self, dataset_id: str, page_size: int = DEFAULT_PAGE,
               bookmark: str = "") -> Page[Grant]:
        return _page(Grant, self._c.evaluate("ListGrants", dataset_id, str(page_size), bookmark))

    def access_log(self, dataset_id: str, page_size: int = DEFAULT_PAGE,
                   bookmark: str = "") -> Page[AccessEntry]:
        return _page(AccessEntry,
                     self._c.evaluate("GetAccessLog", dataset_id, str(page_size), bookmark))


class Tasks:
    """Training tasks, rounds, updates, aggregate endorsements, metrics and org keys
    (contract ``tasks``)."""

    def __init__(self, calls: ContractCalls) -> None:
        self._c = calls

    def create(self, spec: TaskSpec) -> Task:
        return decode(Task, self._c.submit("CreateTask", _json(spec)).data)

    def join(self, task_id: str, terms_hash: str, key_share: str = "") -> Join:
        """Accept the task's terms (as an admin of a participant); terms_hash is what you read;
        key_share: for threshold-ckks, the sha256 of this organisation's key bundle."""
        return decode(Join, self._c.submit("JoinTask", task_id, terms_hash, key_share).data)

    def endorse_key(self, task_id: str, key_hash: str) -> KeyEndorsement:
        """threshold-ckks: this member's claim of the collective public key's hash."""
        return decode(KeyEndorsement, self._c.submit("EndorseKey", task_id, key_hash).data)

    def finalize_key(self, task_id: str) -> Event:
        """Event KeyFinalized (round 1 opens), or TaskFailed when no quorum came in time."""
        return self._c.submit("FinalizeKey", task_id)

    def key_endorsements(self, task_id: str) -> builtins.list[KeyEndorsement]:
        return decode(list[KeyEndorsement], self._c.evaluate("ListKeyEndorsements", task_id))

    def submit_decryption_share(self, task_id: str, round: int, attempt: int,
                                share_hash: str) -> DecryptionShare:
        return decode(DecryptionShare, self._c.submit("SubmitDecryptionShare", task_id,
                                                      str(round), str(attempt),
                                                      share_hash).data)

    def decryption_shares(self, task_id: str, round: int) -> builtins.list[DecryptionShare]:
        return decode(list[DecryptionShare],
                      self._c.evaluate("ListDecryptionShares", task_id, str(round)))

    def start(self, task_id: str) -> Event:
        """Open round 1 (event TaskStarted) once the participants have joined."""
        return self._c.submit("StartTask", task_id)

    def get(self, task_id: str) -> Task:
        return decode(Task, self._c.evaluate("GetTask", task_id))

    def list(self, page_size: int = DEFAULT_PAGE, bookmark: str = "") -> Page[Task]:
        return _page(Task, self._c.evaluate("ListTasks", str(page_size), bookmark))

    def joins(self, task_id: str) -> builtins.list[Join]:
        return decode(list[Join], self._c.evaluate("ListJoins", task_id))

    def submit_update(self, task_id: str, round: int, manifest_hash: str, shards: int,
                      samples: int) -> Update:
        return decode(Update, self._c.submit("SubmitUpdate", task_id, str(round), manifest_hash,
                                             str(shards), str(samples)).data)

    def close_round(self, task_id: str, round: int) -> Event:
        """Event RoundClosed, or TaskFailed when the round timed out short of min_updates."""
        return self._c.submit("CloseRound", task_id, str(round))

    def endorse_aggregate(self, task_id: str, round: int, aggregate_hash: str,
                          aggregate_uri: str, share_hash: str = "") -> Endorsement:
        """share_hash: threshold-ckks, this member's decryption share of the aggregate for
        attempt 0 (fedfabric.fl.threshold), so the round decrypts as soon as it is finalized."""
        return decode(Endorsement, self._c.submit("EndorseAggregate", task_id, str(round),
                                                  aggregate_hash, aggregate_uri,
                                                  share_hash).data)

    def finalize_round(self, task_id: str, round: int) -> Event:
        """Event RoundFinalized, or TaskFailed when the quorum did not come in time."""
        return self._c.submit("FinalizeRound", task_id, str(round))

    def record_metrics(self, task_id: str, round: int, metrics: dict[str, Any]) -> RoundMetrics:
        return decode(RoundMetrics, self._c.submit("RecordMetrics", task_id, str(round),
                                                   _json(metrics)).data)

    def cancel(self, task_id: str) -> Task:
        return decode(Task, self._c.submit("CancelTask", task_id).data)

    def round(self, task_id: str, round: int) -> Round:
        return decode(Round, self._c.evaluate("GetRound", task_id, str(round)))

    def updates(self, task_id: str, round: int) -> builtins.list[Update]:
        return decode(list[Update], self._c.evaluate("ListUpdates", task_id, str(round)))

    def endorsements(self, task_id: str, round: int) -> builtins.list[Endorsement]:
        return decode(list[Endorsement],
                      self._c.evaluate("ListEndorsements", task_id, str(round)))

    def metrics(self, task_id: str, round: int) -> builtins.list[RoundMetrics]:
        return decode(list[RoundMetrics], self._c.evaluate("ListMetrics", task_id, str(round)))

    def history(self, task_id: str) -> TaskHistory:
        return decode(TaskHistory, self._c.evaluate("GetTaskHistory", task_id))

    def publish_key(self, algorithm: str, public_key: str) -> OrgKey:
        return decode(OrgKey, self._c.submit("PublishOrgKey", algorithm, public_key).data)

    def ensure_key(self, msp_id: str, public_key: str, algorithm: str = "X25519") -> bool:
        """Publish the organisation's key unless it is already the published one (as admin);
        True when it published."""
        from fedfabric.ledger.errors import NotFound

        try:
            if self.org_key(msp_id).public_key == public_key:
                return False
        except NotFound:
            pass
        self.publish_key(algorithm, public_key)
        return True

    def org_key(self, msp_id: str) -> OrgKey:
        return decode(OrgKey, self._c.evaluate("GetOrgKey", msp_id))


class Models:
    """Model versions, status, attested metrics, inferences and lineage (contract ``models``)."""

    def __init__(self, calls: ContractCalls) -> None:
        self._c = calls

    def register(self, spec: ModelSpec) -> Model:
        return decode(Model, self._c.submit("RegisterModel", _json(spec)).data)

    def set_status(self, name: str, version: str, status: str) -> Model:
        return decode(Model, self._c.submit("SetModelStatus", name, version, status).data)

    def deploy(self, name: str, version: str) -> Model:
        return self.set_status(name, version, "DEPLOYED")

    def retire(self, name: str, version: str) -> Model:
        return self.set_status(name, version, "RETIRED")

    def get(self, name: str, version: str) -> ModelView:
        return decode(ModelView, self._c.evaluate("GetModel", name, version))

    def list(self, name: str = "", page_size: int = DEFAULT_PAGE,
             bookmark: str = "") -> Page[Model]:
        return _page(Model, self._c.evaluate("ListModels", name, str(page_size), bookmark))

    def attest_metrics(self, name: str, version: str, metrics: dict[str, Any],
                       dataset_hash: str = "") -> Attestation:
        event = self._c.submit("AttestMetrics", name, version, _json(metrics), dataset_hash)
        return decode(Attestation, event.data)

    def attest_weights(self, name: str, version: str, weights_hash: str) -> WeightsAttestation:
        """As a member of the model's provenance task: the final weights hash it computed."""
        return decode(WeightsAttestation,
                      self._c.submit("AttestWeights", name, version, weights_hash).data)

    def record_inference(self, id: str, name: str, version: str, input_hash: str,
                         output_hash: str) -> Inference:
        event = self._c.submit("RecordInference", id, name, version, input_hash, output_hash)
        return decode(Inference, event.data)

    def attest_inference(self, id: str, output_hash: str) -> Verdict:
        return decode(Verdict, self._c.submit("AttestInference", id, output_hash).data)

    def inference(self, id: str) -> InferenceView:
        return decode(InferenceView, self._c.evaluate("GetInference", id))

    def lineage(self, name: str, version: str) -> Lineage:
        return decode(Lineage, self._c.evaluate("GetModelLineage", name, version))


def all_pages(fetch: Any, *args: Any) -> Iterator[Any]:
    """Every item of a paginated listing: ``all_pages(ledger.datasets.list)``."""
    bookmark = ""
    while True:
        page = fetch(*args, bookmark=bookmark)
        yield from page.items
        if not page.bookmark:
            return
        bookmark = page.bookmark
