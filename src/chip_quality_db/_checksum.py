"""SHA-256 of files (artifacts, audit archives), streamed so a large file never sits in memory."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 1024 * 1024


def sha256_digest(source: str | Path | BinaryIO) -> bytes:
    """The SHA-256 of a file (a path or a binary file object), as 32 bytes."""
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            return sha256_digest(handle)
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK_SIZE):
        digest.update(chunk)
    return digest.digest()


def sha256_of(source: str | Path | BinaryIO) -> str:
    """The lowercase hex SHA-256 of a file (a path or a binary file object)."""
    return sha256_digest(source).hex()


def checksum_matches(source: str | Path | BinaryIO, expected_sha256: str) -> bool:
    """Whether the file's SHA-256 is the stored one (compared in constant time)."""
    return hmac.compare_digest(sha256_of(source), expected_sha256.strip().lower())
