"""Store pieces that need no server: URLs, keys, the S3 policy, LocalStore's own guarantees."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from botocore.stub import Stubber

from fedfabric.admin.errors import AdminError
from fedfabric.admin.objectstore import ObjectStoreServer, s3_config
from fedfabric.store import LocalStore, Manifest, S3Store, Store, StoreError, open_store, sha256
from fedfabric.store.base import pack_segment, unpack_segment
from fedfabric.store.url import s3_client

DIGEST = sha256(b"x")


def client() -> S3Store:
    return S3Store("fedfabric", "/Org1/", s3_client("http://127.0.0.1:1", access_key="a",
                                                     secret_key="b", attempts=1))


def test_s3_keys_and_uris() -> None:
    store = client()
    assert store.prefix == "Org1"
    assert store.key(DIGEST) == f"Org1/{DIGEST[:2]}/{DIGEST}"
    assert store.uri(DIGEST) == f"s3://fedfabric/Org1/{DIGEST[:2]}/{DIGEST}"
    assert S3Store("b-1", "", store.client).key(DIGEST) == f"{DIGEST[:2]}/{DIGEST}"
    with pytest.raises(StoreError, match="not a sha256"):
        store.key("../" + DIGEST[3:])
    assert isinstance(store, Store) and isinstance(LocalStore(Path("/tmp")), Store)


def test_open_store_s3_url_without_checking() -> None:
    store = open_store("s3://my-bucket/Org1/models/", "http://127.0.0.1:1", access_key="a",
                       secret_key="b", check=False)
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix) == ("my-bucket", "Org1/models")
    assert store.client.meta.endpoint_url == "http://127.0.0.1:1"
    with pytest.raises(StoreError, match="both an access key and a secret key"):
        open_store("s3://my-bucket/x", access_key="a")


def test_a_rejected_part_aborts_the_multipart_upload(tmp_path: Path) -> None:
    store = S3Store("fedfabric", "Org1", client().client, part_size=5 << 20)
    source = tmp_path / "big"
    source.write_bytes(os.urandom(6 << 20))
    digest = sha256(source.read_bytes())
    key = store.key(digest)
    with Stubber(store.client) as stub:
        stub.add_client_error("get_object", "NoSuchKey", http_status_code=404)
        stub.add_response("create_multipart_upload", {"UploadId": "u1"})
        stub.add_client_error("upload_part", "AccessDenied", http_status_code=403)
        stub.add_response("abort_multipart_upload", {},
                          {"Bucket": "fedfabric", "Key": key, "UploadId": "u1"})
        with pytest.raises(StoreError, match=f"s3://fedfabric/{key} failed: access denied.*"
                           "the unfinished upload was aborted"):
            store.put_file(source)
        stub.assert_no_pending_responses()


def test_policy_scopes_each_org_to_its_prefix() -> None:
    config = s3_config("fedfabric", {"Org1": ("k1", "s1"), "Org2": ("k2", "s2")}, ("ka", "sa"))
    by_name = {i["name"]: i for i in config["identities"]}
    assert by_name["Org1"]["actions"] == ["Read:fedfabric", "List:fedfabric",
                                          "Write:fedfabric/Org1/*"]
    assert by_name["Org2"]["credentials"] == [{"accessKey": "k2", "secretKey": "s2"}]
    assert "Admin" in by_name["fedfabric-admin"]["actions"]
    assert not any("Admin" in a for n, i in by_name.items() if n != "fedfabric-admin"
                   for a in i["actions"])


@pytest.mark.parametrize("orgs", [{"Org*": ("k", "s")}, {"Org1/../Org2": ("k", "s")},
                                  {"": ("k", "s")}, {"Org1": ("ka", "s")}, {"Org1": ("k", "")},
                                  {"fedfabric-admin": ("k", "s")}])
def test_policy_refuses_unsafe_identities(orgs: dict[str, tuple[str, str]]) -> None:
    with pytest.raises(AdminError):
        s3_config("fedfabric", orgs, ("ka", "sa"))


def test_server_command_binds_loopback_only(tmp_path: Path) -> None:
    server = ObjectStoreServer(tmp_path, 30000)
    command = server.command(Path("/bin/weed"))
    assert "-ip.bind=127.0.0.1" in command and "-s3.port=30000" in command
    assert server.endpoint == "http://127.0.0.1:30000"
    assert server.ports() == list(range(30000, 30008))
    ports = [int(a.split("=")[1]) for a in command if ".port" in a and a.split("=")[1] != "0"]
    assert sorted(ports) == server.ports()
    key, secret = server.admin_credentials()
    assert server.admin_credentials() == (key, secret)  # kept
    assert stat.S_IMODE(server.admin_file.stat().st_mode) == 0o600
    files = server.write_credentials({"Org1": ("k1", "s1")})
    assert json.loads(files["Org1"].read_text())["url"] == "s3://fedfabric/Org1"
    assert stat.S_IMODE(files["Org1"].stat().st_mode) == 0o600


def test_local_put_replaces_a_planted_symlink(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"x")  # the right bytes, but outside the store: a symlink is no blob
    path = store.root / DIGEST[:2] / DIGEST
    path.parent.mkdir(parents=True)
    path.symlink_to(elsewhere)
    assert store.put(b"x") == DIGEST
    assert not path.is_symlink() and path.read_bytes() == b"x"
    assert elsewhere.read_bytes() == b"x"


def test_manifest_round_trip() -> None:
    m = Manifest([DIGEST], 3, 1, "ckks", {"round": 2})
    assert Manifest.from_bytes(m.to_bytes(), "d") == m
    with pytest.raises(StoreError, match="blob d is not a manifest"):
        Manifest.from_bytes(b'{"segments": "abc", "shards": 1, "length": 1, "scheme": "x"}',
                            "d")
    with pytest.raises(StoreError, match="blob d is not a manifest"):  # more segments than shards
        Manifest.from_bytes(Manifest([DIGEST, DIGEST], 1, 1, "ckks").to_bytes(), "d")


@pytest.mark.parametrize("shards", [[], [b""], [b"a"], [b"x" * 70_000, b"", b"y"]])
def test_segments_round_trip(shards: list[bytes]) -> None:
    assert unpack_segment(pack_segment(shards), "d") == shards


@pytest.mark.parametrize("cut", [1, 5, 20, 24, 33])
def test_a_truncated_or_padded_segment_is_refused(cut: int) -> None:
    blob = pack_segment([b"0123456789", b"abc"])
    with pytest.raises(StoreError, match="blob d is"):
        unpack_segment(blob[:-cut], "d")
    with pytest.raises(StoreError, match="blob d has 1 bytes after its segment"):
        unpack_segment(blob + b"!", "d")
    with pytest.raises(StoreError, match="blob d is not a segment"):
        unpack_segment(b"[1, 2]", "d")


def test_open_store_takes_endpoint_region_and_keys_from_the_aws_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
    store = open_store("s3://fedfabric/Org1", check=False)
    assert isinstance(store, S3Store)
    assert store.client.meta.endpoint_url == "http://127.0.0.1:2"
    assert store.client.meta.region_name == "eu-west-3"
    credentials = store.client._request_signer._credentials  # what requests are signed with
    assert credentials is not None and credentials.access_key == "from-env"
    explicit = open_store("s3://fedfabric/Org1", "http://127.0.0.1:3", check=False)
    assert isinstance(explicit, S3Store) and explicit.client.meta.endpoint_url.endswith(":3")


def test_open_store_with_an_unknown_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(StoreError, match="no-such-profile"):
        open_store("s3://fedfabric/Org1", "http://127.0.0.1:2", profile="no-such-profile")


def test_opening_a_local_store_creates_nothing_until_a_blob_is_put(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "network" / "blobs")
    assert not (tmp_path / "network").exists()
    with pytest.raises(StoreError, match="no blob"):
        store.get(DIGEST)
    assert not store.has(DIGEST) and not (tmp_path / "network").exists()
    assert store.put(b"x") == DIGEST and store.get(DIGEST) == b"x"
