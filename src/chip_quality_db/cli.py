"""The `chip-quality-db` command: audit chain verification and export, and a health check.

    chip-quality-db audit verify [--against head.json]   exit 1 on a broken chain
    chip-quality-db audit export-head [--out head.json]
    chip-quality-db health

The database is DATABASE_URL's (or the DB_* settings').
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import asyncpg

from . import audit
from ._errors import translate
from ._health import health_check
from ._pool import connect, create_pool
from ._settings import SettingsError, load_settings


async def _connect() -> asyncpg.Connection:
    return await connect(load_settings())


async def _verify(against: Path | None) -> int:
    head = None
    if against is not None:
        head = audit.ChainHead.from_dict(json.loads(against.read_text()))
    conn = await _connect()
    try:
        report = await audit.verify_chain(conn, against=head)
    finally:
        await conn.close()
    print(report)
    return 0 if report.ok else 1


async def _export(out: Path | None) -> int:
    conn = await _connect()
    try:
        head = await audit.export_head(conn)
    finally:
        await conn.close()
    text = json.dumps(head.as_dict()) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)
        print(f"chain head seq {head.seq} written to {out}", file=sys.stderr)
    return 0


async def _health() -> int:
    pool = await create_pool(load_settings(DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0))
    try:
        report = await health_check(pool)
    finally:
        await pool.close()
    print(report.model_dump_json(indent=2))
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chip-quality-db", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    audit_parser = commands.add_parser("audit", help="the audit trail's hash chain")
    audit_commands = audit_parser.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="walk the chain; exit 1 at a break")
    verify.add_argument("--against", type=Path, help="a head exported earlier (JSON)")
    export = audit_commands.add_parser("export-head", help="print or save the chain head")
    export.add_argument("--out", type=Path, help="write the head to this file")
    commands.add_parser("health", help="check the database answers")
    args = parser.parse_args(argv)
    try:
        if args.command == "audit" and args.audit_command == "verify":
            return asyncio.run(_verify(args.against))
        if args.command == "audit":
            return asyncio.run(_export(args.out))
        return asyncio.run(_health())
    except (SettingsError, ValueError, OSError) as exc:
        print(f"chip-quality-db: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        mapped = translate(exc)
        if mapped is None:
            raise
        print(f"chip-quality-db: {mapped}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
