"""The `fedfabric network` command against the session's real network."""

from __future__ import annotations

import json
import subprocess
import sys

from fedfabric.admin import NativeNetwork


def fedfabric(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fedfabric.cli", *args],
                          capture_output=True, text=True, timeout=300)


def test_status_reports_every_node_healthy_with_equal_peer_heights(network: NativeNetwork):
    result = fedfabric("network", "status", "--dir", str(network.layout.root), "--json")
    assert result.returncode == 0, result.stderr
    nodes = json.loads(result.stdout)
    assert sorted(n["kind"] for n in nodes) == ["chaincode"] * 3 + ["orderer"] * 3 + ["peer"] * 3
    assert all(n["healthy"] for n in nodes)
    assert all(n["height"] and n["height"] > 1 for n in nodes if n["kind"] != "chaincode")


def test_profile_lists_each_org_with_files_that_exist(network: NativeNetwork):
    result = fedfabric("network", "profile", "--dir", str(network.layout.root))
    assert result.returncode == 0, result.stderr
    profile = json.loads(result.stdout)
    assert sorted(profile["organizations"]) == ["Org1MSP", "Org2MSP", "Org3MSP"]
    from pathlib import Path
    for org in profile["organizations"].values():
        assert Path(org["peers"][0]["tls_root_cert"]).is_file()
        assert (Path(org["admin_msp"]) / "signcerts").is_dir()
        assert (Path(org["user_msp"]) / "keystore").is_dir()
    assert len(profile["orderers"]) == 3


def test_up_refuses_to_change_an_existing_network(network: NativeNetwork):
    result = fedfabric("network", "up", "--dir", str(network.layout.root), "--orgs", "2")
    assert result.returncode == 1
    assert "cannot change (orgs 3 -> 2" in " ".join(result.stderr.split())


def test_bad_options_are_refused_before_anything_is_made(tmp_path):
    target = tmp_path / "net"
    result = fedfabric("network", "up", "--dir", str(target), "--orderers", "2")
    assert result.returncode == 2 and "orderers must be 1 or 3" in result.stderr
    assert not target.exists()
    result = fedfabric("network", "status", "--dir", str(target))
    assert result.returncode == 1 and "no network at" in result.stderr
