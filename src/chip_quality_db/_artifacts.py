"""Registering artifacts: the stored checksum must be the file's own."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from chip_quality_queries import artifacts
from chip_quality_queries._runtime import Executor
from chip_quality_queries.models import Artifact

from ._checksum import sha256_of
from ._errors import RuleViolationError, mapped_errors


class ChecksumMismatchError(RuleViolationError):
    """The file's SHA-256 is not the checksum given for it."""


async def register_artifact(
    db: Executor, params: artifacts.CreateArtifactParams, content: str | Path | BinaryIO
) -> Artifact:
    """Insert the artifact's row after checking its checksum against the file's content.

    A mismatch is refused before anything is written: a wrong checksum would make
    every later integrity check of this artifact fail, or worse, pass for the wrong file.
    """
    actual = sha256_of(content)
    if actual != params.checksum_sha256.strip().lower():
        raise ChecksumMismatchError(
            f"checksum_sha256 {params.checksum_sha256} does not match the file "
            f"(its SHA-256 is {actual})",
            column="checksum_sha256",
        )
    with mapped_errors():
        artifact = await artifacts.create_artifact(db, params)
    assert artifact is not None  # INSERT ... RETURNING always returns the row
    return artifact
