"""Expected faults become one line that says what to do."""

from __future__ import annotations

from fedfabric.cli.faults import explain
from fedfabric.ledger import LedgerError


def test_an_ordering_outage_is_explained_in_one_line():
    error = LedgerError("UNKNOWN: UNAVAILABLE: no orderers could successfully process "
                        "transaction\n  127.0.0.1:7220 (Org1MSP): rpc error: code = Unavailable")
    line = explain(error)
    assert "\n" not in line
    assert "Raft" in line and "fedfabric network status" in line and "network up" in line


def test_other_errors_keep_their_first_line():
    assert explain(LedgerError("NOT_FOUND: no such thing\nmore")) == \
        "UNKNOWN: NOT_FOUND: no such thing"
