"""The command line's other commands, as an operator runs them: key generation, a head
exported to standard output, the analytics refresh, and the errors it names."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from .test_chain import ROWS, chained, cli

__all__ = ["chained"]  # the fixture of a clean ten-entry chain, shared with test_chain


@pytest.mark.usefixtures("chained")
async def test_keygen_then_a_signed_head_on_stdout_verifies_with_the_public_key(
    db_url: str, tmp_path: Path
) -> None:
    private, public = tmp_path / "signing.pem", tmp_path / "signing.pub"
    made = await cli(
        db_url, "audit", "keygen", "--private-key", str(private), "--public-key", str(public)
    )
    assert made.returncode == 0, made.stderr
    assert private.is_file() and public.is_file()
    assert f"private key in {private}" in made.stdout and f"public key in {public}" in made.stdout

    printed = await cli(db_url, "audit", "export-head", "--signing-key", str(private))
    assert printed.returncode == 0, printed.stderr
    head = json.loads(printed.stdout)
    assert head["seq"] == ROWS and head["signature"]["algorithm"] == "ed25519"
    assert "not signed" not in printed.stderr

    saved = tmp_path / "head.json"
    saved.write_text(printed.stdout)
    verified = await cli(
        db_url, "audit", "verify", "--against", str(saved), "--public-key", str(public)
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{saved}: signature verified" in verified.stdout


@pytest.mark.usefixtures("chained")
async def test_an_unsigned_head_on_stdout_comes_with_the_warning(db_url: str) -> None:
    printed = await cli(db_url, "audit", "export-head")
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout)["seq"] == ROWS
    assert "the export is not signed" in printed.stderr


async def test_a_head_that_is_not_json_is_refused_naming_the_file(
    db_url: str, tmp_path: Path
) -> None:
    garbage = tmp_path / "head.json"
    garbage.write_text("{not json")
    refused = await cli(db_url, "audit", "verify", "--against", str(garbage))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"{garbage}: not an exported head (invalid JSON" in refused.stderr


async def test_analytics_refresh_refreshes_each_view_and_records_when(
    db_url: str, conn: asyncpg.Connection
) -> None:
    done = await cli(db_url, "analytics", "refresh")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "analytics_lot_yield",
        "analytics_defect_pareto",
        "analytics_inference_latency",
    ]
    assert all(": refreshed in " in line for line in lines)
    recorded = await conn.fetch("SELECT view_name FROM analytics_refreshes ORDER BY view_name")
    assert {r["view_name"] for r in recorded} == {line.split(":")[0] for line in lines}

    one = await cli(db_url, "analytics", "refresh", "--view", "analytics_lot_yield")
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("analytics_lot_yield: refreshed in ")
    assert len(one.stdout.splitlines()) == 1


async def test_a_malformed_database_url_is_named_without_its_password() -> None:
    refused = await cli("postgres://alice:s3cret@127.0.0.1:notaport/db", "health")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.startswith("chip-quality-db: ")
    assert "DATABASE_URL" in refused.stderr
    assert "s3cret" not in refused.stderr
