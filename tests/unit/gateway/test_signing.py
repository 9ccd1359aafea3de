import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from fedfabric.gateway import ECDSASigner, sha256, sha384, signer_from_msp_dir, signer_from_pem

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def test_ecdsa_signatures_are_low_s_and_verify(key):
    sign = ECDSASigner(key)
    for _ in range(200):  # about half of raw signatures would be high-S
        digest = sha256(os.urandom(64))
        signature = sign(digest)
        _, s = decode_dss_signature(signature)
        assert s <= P256_ORDER // 2
        key.public_key().verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))


def test_p384_with_sha384():
    key = ec.generate_private_key(ec.SECP384R1())
    digest = sha384(b"message")
    key.public_key().verify(ECDSASigner(key)(digest), digest,
                            ec.ECDSA(Prehashed(hashes.SHA384())))


def test_a_digest_of_the_wrong_size_is_refused(key):
    with pytest.raises(ValueError, match="5-byte digest"):
        ECDSASigner(key)(b"short")


def test_signers_load_from_pem_and_msp_folders(tmp_path, key):
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    (tmp_path / "keystore").mkdir()
    (tmp_path / "keystore" / "priv_sk").write_bytes(pem)
    digest = sha256(b"m")
    for signer in (signer_from_pem(pem), signer_from_msp_dir(tmp_path)):
        key.public_key().verify(signer(digest), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_pem = ed.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    ed.public_key().verify(signer_from_pem(ed_pem)(b"whole message"), b"whole message")


def test_an_msp_folder_with_two_keys_is_refused(tmp_path):
    (tmp_path / "keystore").mkdir()
    for name in ("a", "b"):
        (tmp_path / "keystore" / name).write_text("x")
    with pytest.raises(ValueError, match="found 2"):
        signer_from_msp_dir(tmp_path)
