"""Signed audit heads: someone who can rewrite both the database and the export
storage still cannot forge an export that verifies with the public key."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import asyncpg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chip_quality_db import audit_signing
from chip_quality_db.audit import ChainHead

from .support import rehash_from, tampering
from .test_chain import ROWS, chained, cli

__all__ = ["chained"]  # the fixture of a clean ten-entry chain, shared with test_chain


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "signing.pem", tmp_path / "signing.pub"
    audit_signing.generate(private, public)
    return private, public


async def export(db_url: str, out: Path, private: Path) -> None:
    done = await cli(
        db_url, "audit", "export-head", "--out", str(out), "--signing-key", str(private)
    )
    assert done.returncode == 0, done.stderr
    assert "signed with key" in done.stderr and "warning" not in done.stderr


def test_the_private_key_is_readable_by_its_owner_only(keys: tuple[Path, Path]) -> None:
    private, public = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    with pytest.raises(audit_signing.HeadSignatureError, match="exists already"):
        audit_signing.generate(private, public)


@pytest.mark.usefixtures("chained")
async def test_a_signed_head_verifies_and_still_catches_a_rewrite(
    db_url: str,
    conn: asyncpg.Connection,
    keys: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    private, public = keys
    head = tmp_path / "head.json"
    await export(db_url, head, private)
    data = json.loads(head.read_text())
    assert data["seq"] == ROWS and data["signature"]["algorithm"] == "ed25519"

    good = await cli(db_url, "audit", "verify", "--against", str(head), "--public-key", str(public))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "signature verified" in good.stdout

    async with tampering(conn):
        await conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 6")
        await conn.execute(rehash_from(6))
    caught = await cli(
        db_url, "audit", "verify", "--against", str(head), "--public-key", str(public)
    )
    assert caught.returncode == 1
    assert "chain was rewritten" in caught.stdout


@pytest.mark.usefixtures("chained")
async def test_a_forged_export_is_refused_with_a_message_that_says_so(
    db_url: str,
    conn: asyncpg.Connection,
    keys: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    """The forger rewrote the chain and then the export to match it, but lacks the key."""
    private, public = keys
    head = tmp_path / "head.json"
    await export(db_url, head, private)
    async with tampering(conn):
        await conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 6")
        await conn.execute(rehash_from(6))
    forged = json.loads(head.read_text())
    forged["hash"] = bytes(
        await conn.fetchval(f"SELECT row_hash FROM audit_log WHERE seq = {ROWS}")
    ).hex()
    head.write_text(json.dumps(forged))

    refused = await cli(
        db_url, "audit", "verify", "--against", str(head), "--public-key", str(public)
    )
    assert refused.returncode == 2
    assert "does not match the export's contents" in refused.stderr
    assert "altered" in refused.stderr


@pytest.mark.usefixtures("chained")
async def test_a_wrong_key_an_unsigned_export_and_a_missing_key_each_say_which(
    db_url: str,
    conn: asyncpg.Connection,
    keys: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    private, public = keys
    other_private, other_public = tmp_path / "other.pem", tmp_path / "other.pub"
    audit_signing.generate(other_private, other_public)
    signed, unsigned = tmp_path / "signed.json", tmp_path / "unsigned.json"
    await export(db_url, signed, private)
    plain = await cli(db_url, "audit", "export-head", "--out", str(unsigned))
    assert "not signed" in plain.stderr

    wrong = await cli(
        db_url, "audit", "verify", "--against", str(signed), "--public-key", str(other_public)
    )
    assert wrong.returncode == 2 and "wrong key" in wrong.stderr

    bare = await cli(
        db_url, "audit", "verify", "--against", str(unsigned), "--public-key", str(public)
    )
    assert bare.returncode == 2 and "not signed" in bare.stderr

    unchecked = await cli(db_url, "audit", "verify", "--against", str(signed))
    assert unchecked.returncode == 2 and "give --public-key" in unchecked.stderr

    trusted_storage = await cli(db_url, "audit", "verify", "--against", str(unsigned))
    assert trusted_storage.returncode == 0
    assert "only as trustworthy as the storage" in trusted_storage.stderr


def test_a_signature_covers_seq_hash_and_time(keys: tuple[Path, Path]) -> None:
    private, public = keys
    private_key = audit_signing.load_private_key(private)
    public_key = audit_signing.load_public_key(public)
    assert private_key is not None and public_key is not None
    from chip_quality_db.audit import ChainHead

    exported = audit_signing.sign(ChainHead(seq=7, hash="ab" * 32), private_key)
    assert audit_signing.check(exported, public_key).seq == 7
    for change in ({"seq": 8}, {"hash": "cd" * 32}, {"exported_at": "2020-01-01T00:00:00+00:00"}):
        altered = audit_signing.ExportedHead.from_dict({**exported.as_dict(), **change})
        with pytest.raises(audit_signing.HeadSignatureError, match="altered"):
            audit_signing.check(altered, public_key)
    garbage = {**exported.as_dict()}
    garbage["signature"] = {**garbage["signature"], "value": base64.b64encode(b"x").decode()}
    with pytest.raises(audit_signing.HeadSignatureError, match="altered"):
        audit_signing.check(audit_signing.ExportedHead.from_dict(garbage), public_key)


def test_unreadable_keys_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(audit_signing.HeadSignatureError, match=r"nope\.pem: cannot read"):
        audit_signing.load_private_key(missing)
    junk = tmp_path / "junk.pub"
    junk.write_text("not a key")
    with pytest.raises(audit_signing.HeadSignatureError, match=r"junk\.pub: not a PEM key"):
        audit_signing.load_public_key(junk)


def test_a_key_that_is_not_ed25519_is_refused_naming_the_file(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = tmp_path / "rsa.pem", tmp_path / "rsa.pub"
    private.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(
        audit_signing.HeadSignatureError, match=f"signing key {private}: not an Ed25519"
    ):
        audit_signing.load_private_key(private)
    with pytest.raises(
        audit_signing.HeadSignatureError, match=f"public key {public}: not an Ed25519"
    ):
        audit_signing.load_public_key(public)


@pytest.mark.parametrize("data", [{}, {"seq": "ten", "hash": "ab"}, {"seq": None, "hash": "ab"}])
def test_a_head_without_an_integer_seq_and_a_hash_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"an exported chain head is \{'seq': int, 'hash': hex\}"):
        ChainHead.from_dict(data)
