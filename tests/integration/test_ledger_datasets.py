"""Data permissioning on the real network: every function and the main refusals."""

from __future__ import annotations

import datetime
import hashlib

import pytest

from fedfabric.ledger import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    Ledger,
    NotFound,
    PermissionDenied,
    all_pages,
)

from .conftest import unique

SHA = hashlib.sha256(b"ciphertext").hexdigest()
LATER = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)


def register(ledger: Ledger, dataset_id: str):
    return ledger.datasets.register(dataset_id, "Ward A", SHA, f"file:///store/{dataset_id}",
                                    {"columns": 30}, 569, {"algorithm": "AES-256-GCM"})


def test_register_show_and_list(ledgers):
    org1, org2 = ledgers[("Org1", "Admin")], ledgers[("Org2", "User1")]
    did = unique("ds")
    d = register(org1, did)
    assert (d.owner_msp, d.rows, d.schema) == ("Org1MSP", 569, {"columns": 30})
    assert org2.datasets.get(did) == d
    assert did in {x.id for x in all_pages(org2.datasets.list)}
    with pytest.raises(AlreadyExists):
        register(ledgers[("Org2", "Admin")], did)
    assert org2.datasets.get(did).owner_msp == "Org1MSP"  # unchanged


@pytest.mark.parametrize("who,error", [(("Org1", "User1"), PermissionDenied)])
def test_a_non_admin_cannot_register_and_nothing_is_written(ledgers, who, error):
    did = unique("ds")
    with pytest.raises(error):
        register(ledgers[who], did)
    with pytest.raises(NotFound):
        ledgers[("Org2", "User1")].datasets.get(did)


def test_malformed_input_is_refused_and_nothing_is_written(ledgers):
    org1 = ledgers[("Org1", "Admin")]
    did = unique("ds")
    with pytest.raises(InvalidArgument, match="sha256"):
        org1.datasets.register(did, "n", "not-a-hash", "u", {}, 1, {})
    with pytest.raises(InvalidArgument, match="rows"):
        org1.datasets.register(did, "n", SHA, "u", {}, -5, {})
    with pytest.raises(NotFound):
        org1.datasets.get(did)


def test_grant_check_record_revoke_and_the_access_log(ledgers):
    owner, user2, user3 = ledgers[("Org1", "Admin")], ledgers[("Org2", "User1")], \
        ledgers[("Org3", "User1")]
    did = unique("ds")
    register(owner, did)
    assert not user3.datasets.check(did, "Org2MSP", "training").allowed

    with pytest.raises(PermissionDenied):  # another organisation's admin
        ledgers[("Org2", "Admin")].datasets.grant(did, "Org2MSP", "training", LATER)
    with pytest.raises(PermissionDenied):  # the owner's non-admin
        ledgers[("Org1", "User1")].datasets.grant(did, "Org2MSP", "training", LATER)
    assert owner.datasets.grants(did).items == []

    grant = owner.datasets.grant(did, "Org2MSP", "training", LATER)
    assert grant.status == "ACTIVE" and grant.granted_by == "Admin@org1.example.com"
    with pytest.raises(AlreadyExists):
        owner.datasets.grant(did, "Org2MSP", "training", LATER)
    decision = user3.datasets.check(did, "Org2MSP", "training")
    assert decision.allowed and decision.grant is not None

    entry = user2.datasets.record_access(did, "training")
    assert (entry.msp_id, entry.identity) == ("Org2MSP", "User1@org2.example.com")
    with pytest.raises(PermissionDenied):
        user3.datasets.record_access(did, "training")
    with pytest.raises(PermissionDenied):
        user2.datasets.record_access(did, "read")

    owner.datasets.revoke(did, "Org2MSP", "training")
    with pytest.raises(FailedPrecondition):
        owner.datasets.revoke(did, "Org2MSP", "training")
    decision = user3.datasets.check(did, "Org2MSP", "training")
    assert not decision.allowed and "revoked" in decision.reason
    with pytest.raises(PermissionDenied):
        user2.datasets.record_access(did, "training")

    log = list(all_pages(user3.datasets.access_log, did))
    assert [e.tx_id for e in log] == [entry.tx_id]  # refused accesses left no entry
    grants = owner.datasets.grants(did).items
    assert [(g.grantee_msp, g.status) for g in grants] == [("Org2MSP", "REVOKED")]


def test_a_grant_to_one_identity(ledgers):
    owner = ledgers[("Org1", "Admin")]
    did = unique("ds")
    register(owner, did)
    owner.datasets.grant(did, "Org2MSP", "read", LATER, grantee_id="User1@org2.example.com")
    ledgers[("Org2", "User1")].datasets.record_access(did, "read")
    with pytest.raises(PermissionDenied):
        ledgers[("Org2", "Admin")].datasets.record_access(did, "read")
    with pytest.raises(InvalidArgument):  # an expiry in the past
        owner.datasets.grant(did, "Org3MSP", "read", "2000-01-01T00:00:00Z")
