"""Signed audit heads: an exported chain head that whoever can rewrite the database
and reach the export storage still cannot forge.

The head is signed with an Ed25519 key the database never sees; verification
checks the signature with the public key before trusting the head:

    chip-quality-db audit keygen --private-key audit-signing.pem --public-key audit-signing.pub
    chip-quality-db audit export-head --signing-key audit-signing.pem --out head.json
    chip-quality-db audit verify --against head.json --public-key audit-signing.pub

The signed bytes are the canonical JSON (sorted keys, no spaces) of seq, hash and
exported_at; the signature travels beside them with the key's id (the first 16
hex digits of the SHA-256 of the raw public key), so a wrong key is told apart
from an altered export.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .audit import ChainHead

ALGORITHM = "ed25519"
SIGNING_KEY_VARIABLE = "AUDIT_SIGNING_KEY_FILE"
PUBLIC_KEY_VARIABLE = "AUDIT_PUBLIC_KEY_FILE"


class HeadSignatureError(ValueError):
    """An exported head whose signature is missing, made with another key, or does
    not match its contents; or a key that cannot be read. The message says which."""


@dataclass(frozen=True)
class ExportedHead:
    """A chain head as written to a file: when it was taken, and its signature if any."""

    head: ChainHead
    exported_at: str
    key_id: str | None = None
    signature: str | None = None  # base64

    @property
    def signed(self) -> bool:
        return self.signature is not None

    def payload(self) -> bytes:
        """The bytes the signature covers."""
        fields = {"seq": self.head.seq, "hash": self.head.hash, "exported_at": self.exported_at}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {**self.head.as_dict(), "exported_at": self.exported_at}
        if self.signature is not None:
            data["signature"] = {
                "algorithm": ALGORITHM,
                "key_id": self.key_id,
                "value": self.signature,
            }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportedHead:
        head = ChainHead.from_dict(data)
        signature = data.get("signature")
        if signature is None:
            return cls(head, str(data.get("exported_at", "")))
        if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
            raise HeadSignatureError(
                f"the export's signature is not an {ALGORITHM} signature this tool knows"
            )
        return cls(
            head,
            str(data.get("exported_at", "")),
            key_id=str(signature.get("key_id")),
            signature=str(signature.get("value")),
        )


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(head: ChainHead, private_key: Ed25519PrivateKey | None) -> ExportedHead:
    """The head as exported now, signed when a key is given."""
    exported = ExportedHead(head, datetime.now(UTC).isoformat(timespec="seconds"))
    if private_key is None:
        return exported
    value = base64.b64encode(private_key.sign(exported.payload())).decode()
    return ExportedHead(head, exported.exported_at, key_id(private_key.public_key()), value)


def check(exported: ExportedHead, public_key: Ed25519PublicKey) -> ChainHead:
    """The head, once its signature verifies with `public_key`; else HeadSignatureError."""
    if not exported.signed:
        raise HeadSignatureError(
            "the export is not signed, but a public key was given: an unsigned head "
            "proves nothing against someone who can rewrite the export"
        )
    expected = key_id(public_key)
    if exported.key_id != expected:
        raise HeadSignatureError(
            f"wrong key: the export was signed with key {exported.key_id}, "
            f"the public key given is {expected}"
        )
    try:
        public_key.verify(base64.b64decode(exported.signature or ""), exported.payload())
    except (InvalidSignature, ValueError):
        raise HeadSignatureError(
            f"the signature does not match the export's contents (key {expected}): "
            "the export was altered after it was signed"
        ) from None
    return exported.head


def _key_path(given: Path | None, variable: str) -> Path | None:
    if given is not None:
        return given
    configured = os.environ.get(variable, "").strip()
    return Path(configured) if configured else None


def load_private_key(given: Path | None) -> Ed25519PrivateKey | None:
    """The signing key from `given` or AUDIT_SIGNING_KEY_FILE; None when neither is set."""
    path = _key_path(given, SIGNING_KEY_VARIABLE)
    if path is None:
        return None
    key = _load(path, "signing key", serialization.load_pem_private_key, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise HeadSignatureError(f"signing key {path}: not an Ed25519 private key")
    return key


def load_public_key(given: Path | None) -> Ed25519PublicKey | None:
    """The verifying key from `given` or AUDIT_PUBLIC_KEY_FILE; None when neither is set."""
    path = _key_path(given, PUBLIC_KEY_VARIABLE)
    if path is None:
        return None
    key = _load(path, "public key", serialization.load_pem_public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise HeadSignatureError(f"public key {path}: not an Ed25519 public key")
    return key


def _load(path: Path, what: str, loader: Any, **options: Any) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HeadSignatureError(f"{what} {path}: cannot read it: {exc.strerror}") from None
    try:
        return loader(data, **options)
    except (ValueError, TypeError) as exc:
        raise HeadSignatureError(f"{what} {path}: not a PEM key this tool reads: {exc}") from None


def generate(private_path: Path, public_path: Path) -> str:
    """Write a new key pair (the private key readable by its owner only); its key id."""
    for path in (private_path, public_path):
        if path.exists():
            raise HeadSignatureError(f"{path} exists already: not overwriting a key")
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(private_pem)
    public_path.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key_id(private_key.public_key())
