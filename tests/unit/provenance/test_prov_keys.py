"""Ed25519 keys in the workspace: create, list, export, permissions and passphrases."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import synthgov as sg
from synthgov.provenance import create_key, export_public, list_keys, load_public_key, load_signing_key
from synthgov.provenance.keys import PASSPHRASE_ENV, key_id_of


def _code(excinfo):
    return excinfo.value.details.get("code")


def test_create_writes_a_0600_private_key_and_a_public_key(tmp_path):
    info = create_key("alice", workspace=tmp_path)
    assert info.private_path == tmp_path.resolve() / "keys" / "alice.key"
    assert stat.S_IMODE(os.stat(info.private_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700
    signer = load_signing_key("alice", workspace=tmp_path)
    public = load_public_key(info.public_path)
    assert signer.key_id == public.key_id == info.key_id == key_id_of(public.key)
    assert public.verify(signer.sign(b"message"), b"message") and not public.verify(signer.sign(b"x"), b"y")


def test_key_id_is_the_sha256_of_the_raw_public_key(tmp_path):
    import hashlib

    info = create_key("k", workspace=tmp_path)
    raw = load_public_key(info.public_path).key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert len(raw) == 32 and info.key_id == hashlib.sha256(raw).hexdigest()


def test_list_and_export_public(tmp_path):
    a = create_key("a", workspace=tmp_path)
    create_key("b", workspace=tmp_path, passphrase="correct horse")
    listed = list_keys(workspace=tmp_path)
    assert [(k.name, k.encrypted) for k in listed] == [("a", False), ("b", True)]
    pem = export_public("a", workspace=tmp_path)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----") and "PRIVATE" not in pem
    assert load_public_key(pem).key_id == a.key_id
    assert list_keys(workspace=tmp_path / "empty") == []


def test_an_existing_key_is_not_replaced_without_overwrite(tmp_path):
    first = create_key("a", workspace=tmp_path)
    with pytest.raises(sg.OutputError, match="already exists"):
        create_key("a", workspace=tmp_path)
    assert load_signing_key("a", workspace=tmp_path).key_id == first.key_id
    assert create_key("a", workspace=tmp_path, overwrite=True).key_id != first.key_id


@pytest.mark.parametrize("name", ["", "../escape", "a/b", "x" * 65, ".hidden", "alice\n"])
def test_bad_key_names_are_refused(name, tmp_path):
    with pytest.raises(sg.ParameterError, match="key name"):
        create_key(name, workspace=tmp_path)
    assert not (tmp_path / "keys").exists() or list((tmp_path / "keys").iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_private_key_others_can_access_is_refused(mode, tmp_path):
    info = create_key("a", workspace=tmp_path)
    os.chmod(info.private_path, mode)
    with pytest.raises(sg.KeyFileError, match="accessible by other users") as exc:
        load_signing_key("a", workspace=tmp_path)
    assert _code(exc) == "SG-KEY-PERMISSIONS" and f"chmod 600 {info.private_path}" in exc.value.hint


def test_passphrase_missing_wrong_right_and_from_the_environment(tmp_path, monkeypatch):
    create_key("p", workspace=tmp_path, passphrase="s3cret phrase")
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    with pytest.raises(sg.KeyFileError, match="encrypted and no passphrase") as exc:
        load_signing_key("p", workspace=tmp_path)
    assert _code(exc) == "SG-KEY-PASSPHRASE" and exc.value.details["given"] is False
    with pytest.raises(sg.KeyFileError, match="wrong passphrase") as exc:
        load_signing_key("p", workspace=tmp_path, passphrase="guess")
    assert _code(exc) == "SG-KEY-PASSPHRASE" and exc.value.details["given"] is True
    good = load_signing_key("p", workspace=tmp_path, passphrase="s3cret phrase")
    monkeypatch.setenv(PASSPHRASE_ENV, "s3cret phrase")
    assert load_signing_key("p", workspace=tmp_path).key_id == good.key_id
    assert b"ENCRYPTED" in (tmp_path / "keys" / "p.key").read_bytes()


def test_unknown_key_and_wrong_kinds_of_key_files(tmp_path):
    with pytest.raises(sg.KeyFileError, match="no private key") as exc:
        load_signing_key("nobody", workspace=tmp_path)
    assert _code(exc) == "SG-KEY-NOT-FOUND"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "rsa.pem"
    path.write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(path, 0o600)
    with pytest.raises(sg.KeyFileError, match="not an Ed25519 key") as exc:
        load_signing_key(path)
    assert _code(exc) == "SG-KEY-MALFORMED"
    garbage = tmp_path / "garbage.key"
    garbage.write_bytes(b"not a key")
    os.chmod(garbage, 0o600)
    with pytest.raises(sg.KeyFileError, match="not a PEM private key"):
        load_signing_key(garbage)
    info = create_key("a", workspace=tmp_path)
    with pytest.raises(sg.KeyFileError, match="is a private key; verification needs the public key"):
        load_public_key(info.private_path.read_text())


def test_signing_key_repr_hides_the_key():
    from synthgov.provenance import SigningKey

    signer = SigningKey.generate("demo")
    raw = signer.key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption())
    assert raw.hex() not in repr(signer) and "demo" in repr(signer)
