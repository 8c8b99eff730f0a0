"""Ed25519 signing keys kept in the workspace.

A key pair is two files in ``<workspace>/keys/``: ``NAME.key`` (the private key,
PKCS#8 PEM, optionally encrypted with a passphrase, file mode 0600) and
``NAME.pub`` (the public key, SubjectPublicKeyInfo PEM, safe to share). A
private key file that other users can read or write is refused, as ssh does.

A key is named by its *key id*: the sha256 of its 32 raw public-key bytes, in
hex. Releases record it, and verification matches signatures to trusted keys by it.

>>> import tempfile
>>> ws = tempfile.mkdtemp()
>>> info = create_key("alice", workspace=ws)
>>> info.name, info.encrypted, len(info.key_id)
('alice', False, 64)
>>> signer = load_signing_key("alice", workspace=ws)
>>> signer.public_key().verify(signer.sign(b"hello"), b"hello")
True
>>> [k.name for k in list_keys(workspace=ws)]
['alice']
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .._atomic import atomic_path
from ..errors import InputError, KeyFileError, OutputError, ParameterError
from ..workspace import Workspace

__all__ = [
    "KeyInfo",
    "SigningKey",
    "PublicKey",
    "create_key",
    "list_keys",
    "export_public",
    "load_signing_key",
    "load_public_key",
    "keys_dir",
    "key_id_of",
    "PASSPHRASE_ENV",
    "trusted_keys",
]

#: Environment variable read for a key's passphrase when none is given (scripts, CI).
PASSPHRASE_ENV = "SYNTHGOV_KEY_PASSPHRASE"
DEFAULT_KEY = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_MAX_KEY_FILE = 64 * 1024


def key_id_of(public: Ed25519PublicKey) -> str:
    """The key id: sha256 (hex) of the 32 raw public-key bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


@dataclasses.dataclass(frozen=True)
class PublicKey:
    """A trusted Ed25519 public key and its key id."""

    key: Ed25519PublicKey
    key_id: str
    name: str = ""

    @classmethod
    def from_key(cls, key: Ed25519PublicKey, name: str = "") -> PublicKey:
        return cls(key=key, key_id=key_id_of(key), name=name)

    def verify(self, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def pem(self) -> str:
        """The public key as SubjectPublicKeyInfo PEM text."""
        return self.key.public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


@dataclasses.dataclass(frozen=True, repr=False)
class SigningKey:
    """An Ed25519 private key ready to sign (its repr never shows key material)."""

    key: Ed25519PrivateKey
    key_id: str
    name: str = ""

    @classmethod
    def from_key(cls, key: Ed25519PrivateKey, name: str = "") -> SigningKey:
        return cls(key=key, key_id=key_id_of(key.public_key()), name=name)

    @classmethod
    def generate(cls, name: str = "") -> SigningKey:
        """A fresh key held in memory only (tests, throwaway releases)."""
        return cls.from_key(Ed25519PrivateKey.generate(), name)

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)

    def public_key(self) -> PublicKey:
        return PublicKey.from_key(self.key.public_key(), self.name)

    def __repr__(self) -> str:
        return f"SigningKey(name={self.name!r}, key_id={self.key_id[:16]}…)"


@dataclasses.dataclass(frozen=True)
class KeyInfo:
    """A key pair in the workspace, as ``keys list`` shows it."""

    name: str
    key_id: str
    private_path: Path | None
    public_path: Path
    encrypted: bool

    def to_dict(self) -> dict:
        return {"name": self.name, "key_id": self.key_id, "encrypted": self.encrypted,
                "private_path": None if self.private_path is None else str(self.private_path),
                "public_path": str(self.public_path)}


def keys_dir(workspace: str | os.PathLike | Workspace | None = None, *, create: bool = False) -> Path:
    """``<workspace>/keys`` (created with mode 0700 when ``create``)."""
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    path = ws.root / "keys"
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            if os.name == "posix":
                os.chmod(path, 0o700)
        except OSError as exc:
            raise OutputError(f"cannot create the key directory {path}: {exc.strerror or exc}",
                              hint="set SYNTHGOV_HOME to a writable directory") from None
    return path


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ParameterError(f"a key name must be 1-64 letters, digits, '.', '_' or '-', got {name!r}",
                             hint="e.g. 'default' or 'team-release-2025'")
    return name


def _passphrase_bytes(passphrase: str | bytes | None) -> bytes | None:
    if passphrase is None:
        return None
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")
    if not isinstance(passphrase, bytes) or not passphrase:
        raise ParameterError("a passphrase must be non-empty text", hint="or leave it out for an unencrypted key")
    return passphrase


def create_key(name: str = DEFAULT_KEY, *, passphrase: str | bytes | None = None,
               workspace: str | os.PathLike | Workspace | None = None, overwrite: bool = False) -> KeyInfo:
    """Make a new Ed25519 key pair ``name`` in the workspace and return its :class:`KeyInfo`.

    Args:
        name: file stem of the pair (``NAME.key`` / ``NAME.pub``).
        passphrase: encrypt the private key with it (PKCS#8, best available encryption).
        workspace: the workspace (default: the active one).
        overwrite: replace an existing pair of that name (its releases then verify only with its old ``.pub``).
    """
    _check_name(name)
    secret = _passphrase_bytes(passphrase)
    folder = keys_dir(workspace, create=True)
    private_path, public_path = folder / f"{name}.key", folder / f"{name}.pub"
    if not overwrite and (private_path.exists() or public_path.exists()):
        raise OutputError(f"a key named {name!r} already exists in {folder}",
                          hint="choose another name, or pass overwrite=True (--force) to replace it")
    key = Ed25519PrivateKey.generate()
    encryption = (serialization.BestAvailableEncryption(secret) if secret
                  else serialization.NoEncryption())
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        with atomic_path(private_path, suffix=".tmp") as tmp:
            os.chmod(tmp, 0o600)
            tmp.write_bytes(private_pem)
        with atomic_path(public_path, suffix=".tmp") as tmp:
            os.chmod(tmp, 0o644)  # readable by all, writable by you only, whatever the umask (see trusted_keys)
            tmp.write_bytes(public_pem)
    except OSError as exc:
        raise OutputError(f"cannot write the key {name!r} to {folder}: {exc.strerror or exc}") from None
    return KeyInfo(name=name, key_id=key_id_of(key.public_key()), private_path=private_path,
                   public_path=public_path, encrypted=secret is not None)


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        if path.stat().st_size > _MAX_KEY_FILE:
            raise KeyFileError(f"{path} is too large to be a {what}", details={"code": "SG-KEY-MALFORMED"})
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"no {what} at {path}", hint="`synthgov keys list` shows the keys in the workspace",
                         details={"code": "SG-KEY-NOT-FOUND"}) from None
    except IsADirectoryError:
        raise KeyFileError(f"{path} is a directory, not a {what}", details={"code": "SG-KEY-MALFORMED"}) from None
    except OSError as exc:
        raise KeyFileError(f"cannot read the {what} {path}: {exc.strerror or exc}",
                         details={"code": "SG-KEY-UNREADABLE"}) from None


def _check_permissions(path: Path) -> None:
    """Refuse a private key that group or others may read or write (POSIX only)."""
    if os.name != "posix":
        return
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"{path} is not a regular file", details={"code": "SG-KEY-MALFORMED"})
    if info.st_mode & 0o077:
        raise KeyFileError(
            f"the private key {path} is accessible by other users (mode {stat.S_IMODE(info.st_mode):04o})",
            hint=f"restrict it: chmod 600 {path}",
            details={"code": "SG-KEY-PERMISSIONS", "mode": f"{stat.S_IMODE(info.st_mode):04o}"},
        )


def _is_encrypted(pem: bytes) -> bool:
    return b"ENCRYPTED" in pem.split(b"\n", 1)[0]


def _resolve_private(key: str | os.PathLike, workspace) -> tuple[Path, str]:
    if isinstance(key, str) and _NAME.match(key) and not Path(key).is_file():
        return keys_dir(workspace) / f"{key}.key", key
    path = Path(key)
    return path, path.stem


def load_signing_key(key: str | os.PathLike = DEFAULT_KEY, *, passphrase: str | bytes | None = None,
                     workspace: str | os.PathLike | Workspace | None = None) -> SigningKey:
    """Load a private key by workspace name or file path, checking its permissions first.

    The passphrase, when none is given, is read from ``$SYNTHGOV_KEY_PASSPHRASE``.
    Errors are :class:`~synthgov.errors.KeyFileError` (code ``SG-KEY``) with ``details["code"]`` one of
    ``SG-KEY-NOT-FOUND``, ``SG-KEY-PERMISSIONS``, ``SG-KEY-PASSPHRASE`` (missing or wrong),
    ``SG-KEY-MALFORMED``.
    """
    path, name = _resolve_private(key, workspace)
    pem = _read_key_file(path, "private key")
    _check_permissions(path)
    if passphrase is None and _is_encrypted(pem):
        passphrase = os.environ.get(PASSPHRASE_ENV) or None
    secret = _passphrase_bytes(passphrase)
    if _is_encrypted(pem) and secret is None:
        raise KeyFileError(f"the private key {path} is encrypted and no passphrase was given",
                         hint=f"pass passphrase=..., or set {PASSPHRASE_ENV}",
                         details={"code": "SG-KEY-PASSPHRASE", "given": False})
    try:
        loaded = serialization.load_pem_private_key(pem, password=secret if _is_encrypted(pem) else None)
    except ValueError as exc:
        if _is_encrypted(pem):
            raise KeyFileError(f"wrong passphrase for the private key {path}",
                             hint="check the passphrase; it cannot be recovered",
                             details={"code": "SG-KEY-PASSPHRASE", "given": True}) from None
        raise KeyFileError(f"{path} is not a PEM private key: {exc}", details={"code": "SG-KEY-MALFORMED"}) from None
    except (TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{path} cannot be loaded as a private key: {exc}",
                         details={"code": "SG-KEY-MALFORMED"}) from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(loaded).__name__}, not an Ed25519 key",
                         hint="create one with `synthgov keys create`", details={"code": "SG-KEY-MALFORMED"})
    return SigningKey.from_key(loaded, name)


def public_key_from_pem(pem: bytes, *, origin: str = "the key", name: str = "") -> PublicKey:
    """Parse SubjectPublicKeyInfo PEM text into a :class:`PublicKey` (Ed25519 only)."""
    if b"PRIVATE KEY" in pem:
        raise KeyFileError(f"{origin} is a private key; verification needs the public key",
                         hint="export it with `synthgov keys export-public NAME`",
                         details={"code": "SG-KEY-MALFORMED"})
    try:
        loaded = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{origin} is not a PEM public key: {exc}", details={"code": "SG-KEY-MALFORMED"}) from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise KeyFileError(f"{origin} holds a {type(loaded).__name__}, not an Ed25519 public key",
                         details={"code": "SG-KEY-MALFORMED"})
    return PublicKey.from_key(loaded, name)


def load_public_key(key: str | os.PathLike | bytes, *,
                    workspace: str | os.PathLike | Workspace | None = None) -> PublicKey:
    """Load a public key from PEM text, a ``.pub`` file path, or a key name in the workspace."""
    if isinstance(key, bytes) or (isinstance(key, str) and key.lstrip().startswith("-----BEGIN")):
        pem = key.encode("ascii", "replace") if isinstance(key, str) else key
        return public_key_from_pem(pem)
    if isinstance(key, str) and _NAME.match(key) and not Path(key).exists():
        path, name = keys_dir(workspace) / f"{key}.pub", key
    else:
        path = Path(key)
        name = path.stem
    return public_key_from_pem(_read_key_file(path, "public key"), origin=str(path), name=name)


def list_keys(*, workspace: str | os.PathLike | Workspace | None = None) -> list[KeyInfo]:
    """Every public key in the workspace (with its private half, when present), by name."""
    folder = keys_dir(workspace)
    if not folder.is_dir():
        return []
    out = []
    for public_path in sorted(folder.glob("*.pub")):
        if not _NAME.match(public_path.stem):
            continue
        try:
            public = load_public_key(public_path)
        except InputError:
            continue  # not a key we can use: `keys list` shows usable keys only
        private_path = public_path.with_suffix(".key")
        has_private = private_path.is_file()
        encrypted = has_private and _is_encrypted(_read_key_file(private_path, "private key")[:64])
        out.append(KeyInfo(name=public_path.stem, key_id=public.key_id,
                           private_path=private_path if has_private else None,
                           public_path=public_path, encrypted=encrypted))
    return out


def _check_trust_anchor(path: Path, what: str) -> None:
    """Refuse a key folder or public key file that another user owns or may write (POSIX only).

    Whoever can write there can add a key that verification then trusts by default (ssh's
    StrictModes refuses such an ``authorized_keys`` for the same reason).
    """
    if os.name != "posix":
        return
    info = path.stat()
    owners = {0, os.geteuid()}
    if info.st_uid not in owners or info.st_mode & 0o022:
        raise KeyFileError(
            f"the {what} {path} can be changed by other users (owner uid {info.st_uid}, mode "
            f"{stat.S_IMODE(info.st_mode):04o}): a key planted there would be trusted",
            hint=f"restrict it: chmod go-w {path} (and own it), or name the trusted key with --key / key=",
            details={"code": "SG-KEY-PERMISSIONS", "mode": f"{stat.S_IMODE(info.st_mode):04o}"},
        )


def trusted_keys(*, workspace: str | os.PathLike | Workspace | None = None) -> list[PublicKey]:
    """The public keys verification trusts when none is named: every usable ``*.pub`` in the workspace.

    The key folder and each ``.pub`` must be owned by you (or root) and writable by nobody else;
    otherwise :class:`~synthgov.errors.KeyFileError` (``SG-KEY-PERMISSIONS``).
    """
    folder = keys_dir(workspace)
    if not folder.is_dir():
        return []
    _check_trust_anchor(folder, "key folder")
    infos = list_keys(workspace=workspace)
    for info in infos:
        _check_trust_anchor(info.public_path, "public key")
    return [load_public_key(info.public_path) for info in infos]


def export_public(name: str = DEFAULT_KEY, *, workspace: str | os.PathLike | Workspace | None = None) -> str:
    """The PEM text of workspace key ``name``'s public half (what recipients pass to ``verify --key``)."""
    _check_name(name)
    return load_public_key(name, workspace=workspace).pem()
