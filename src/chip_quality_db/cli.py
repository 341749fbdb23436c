"""The `chip-quality-db` command: the audit trail's chain, partitions and archive; health.

    chip-quality-db audit verify [--against head.json [--public-key pub.pem]]
                                 [--archive DIR] [--from-genesis]
    chip-quality-db audit export-head [--out head.json] [--signing-key key.pem]
    chip-quality-db audit keygen --private-key key.pem --public-key pub.pem
    chip-quality-db audit maintain [--months-ahead N] [--month YYYY-MM ...]
    chip-quality-db audit archive --before YYYY-MM --dir DIR
    chip-quality-db audit restore --month YYYY-MM --dir DIR
    chip-quality-db analytics refresh [--view NAME ...]
    chip-quality-db health
    chip-quality-db queries [--json]

The database is DATABASE_URL's (or the DB_* settings'). The keys may also come
from AUDIT_SIGNING_KEY_FILE and AUDIT_PUBLIC_KEY_FILE. Exit status: 0 ok, 1 a
broken chain or an unhealthy database, 2 a usage, settings, key or connection
error. No output names a password.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import asyncpg

from . import analytics, audit, audit_archive, audit_partitions, audit_signing, query_table
from ._connections import connect
from ._errors import translate
from ._health import health_check
from ._pool import create_pool
from ._redact import scrub
from ._settings import SettingsError, load_settings

UNSIGNED_WARNING = (
    "warning: {path} is not signed: it is only as trustworthy as the storage it was "
    "kept in (sign exports with --signing-key; README: Compliance)"
)


async def _connect() -> asyncpg.Connection:
    return await connect(load_settings())


def _read_head(path: Path, public_key_path: Path | None) -> audit.ChainHead:
    """The exported head, its signature checked when a public key is given."""
    try:
        exported = audit_signing.ExportedHead.from_dict(json.loads(path.read_text()))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not an exported head (invalid JSON: {exc})") from None
    public_key = audit_signing.load_public_key(public_key_path)
    if public_key is not None:
        head = audit_signing.check(exported, public_key)
        print(f"{path}: signature verified (key {audit_signing.key_id(public_key)})")
        return head
    if exported.signed:
        raise audit_signing.HeadSignatureError(
            f"{path} is signed (key {exported.key_id}): give --public-key (or "
            f"{audit_signing.PUBLIC_KEY_VARIABLE}) to check the signature before trusting it"
        )
    print(UNSIGNED_WARNING.format(path=path), file=sys.stderr)
    return exported.head


async def _verify(
    against: Path | None, public_key: Path | None, archive: Path | None, from_genesis: bool
) -> int:
    head = _read_head(against, public_key) if against is not None else None
    conn = await _connect()
    try:
        report = await audit.verify_chain(conn, against=head, from_genesis=from_genesis)
        problems = [] if archive is None else await audit_archive.verify_archive(conn, archive)
    finally:
        await conn.close()
    print(report)
    for problem in problems:
        print(problem)
    if archive is not None and not problems:
        print(f"audit archive OK: every archived month in {archive} matches its checkpoint")
    return 0 if report.ok and not problems else 1


async def _maintain(months_ahead: int, months: list[str]) -> int:
    extra = tuple(audit_partitions.parse_month(month) for month in months)
    conn = await _connect()
    try:
        report = await audit_partitions.maintain(
            conn, months_ahead=months_ahead, extra_months=extra
        )
    finally:
        await conn.close()
    print(report)
    return 0


async def _archive(before: str, directory: Path) -> int:
    month = audit_partitions.parse_month(before)
    conn = await _connect()
    try:
        report = await audit_archive.archive(conn, before=month, directory=directory)
    finally:
        await conn.close()
    print(report)
    return 0


async def _restore(month_text: str, directory: Path) -> int:
    month = audit_partitions.parse_month(month_text)
    conn = await _connect()
    try:
        rows = await audit_archive.restore(conn, month=month, directory=directory)
    finally:
        await conn.close()
    print(f"audit month {month_text} restored: {rows} entries, matching its checkpoint")
    return 0


async def _export(out: Path | None, signing_key: Path | None) -> int:
    private_key = audit_signing.load_private_key(signing_key)
    conn = await _connect()
    try:
        head = await audit.export_head(conn)
    finally:
        await conn.close()
    exported = audit_signing.sign(head, private_key)
    text = json.dumps(exported.as_dict()) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)
        signed = f", signed with key {exported.key_id}" if exported.signed else ""
        print(f"chain head seq {head.seq} written to {out}{signed}", file=sys.stderr)
    if not exported.signed:
        print(UNSIGNED_WARNING.format(path=out or "the export"), file=sys.stderr)
    return 0


def _keygen(private_key: Path, public_key: Path) -> int:
    key_id = audit_signing.generate(private_key, public_key)
    print(
        f"key {key_id}: private key in {private_key} (keep it away from the database "
        f"and its administrators), public key in {public_key}"
    )
    return 0


async def _refresh(views: list[str]) -> int:
    conn = await _connect()
    try:
        done = await analytics.refresh(conn, tuple(views) or analytics.VIEWS)
    finally:
        await conn.close()
    for refreshed in done:
        print(refreshed)
    return 0


async def _health() -> int:
    pool = await create_pool(load_settings(DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0))
    try:
        report = await health_check(pool)
    finally:
        await pool.close()
    print(report.model_dump_json(indent=2))
    return 0 if report.ok else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chip-quality-db", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    audit_parser = commands.add_parser("audit", help="the audit trail's hash chain")
    audit_commands = audit_parser.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="walk the chain; exit 1 at a break")
    verify.add_argument("--against", type=Path, help="a head exported earlier (JSON)")
    verify.add_argument("--public-key", type=Path, help="check the export's signature (PEM)")
    verify.add_argument(
        "--archive", type=Path, metavar="DIR", help="also re-verify the archive files in DIR"
    )
    verify.add_argument(
        "--from-genesis", action="store_true", help="walk from seq 1, not the newest checkpoint"
    )
    export = audit_commands.add_parser("export-head", help="print or save the chain head")
    export.add_argument("--out", type=Path, help="write the head to this file")
    export.add_argument("--signing-key", type=Path, help="sign the head (Ed25519 PEM)")
    keygen = audit_commands.add_parser("keygen", help="make an Ed25519 key pair for exports")
    keygen.add_argument("--private-key", type=Path, required=True)
    keygen.add_argument("--public-key", type=Path, required=True)
    maintain = audit_commands.add_parser(
        "maintain", help="make the monthly partitions ahead of time (idempotent; daily cron)"
    )
    maintain.add_argument(
        "--months-ahead", type=int, default=audit_partitions.MONTHS_AHEAD, metavar="N"
    )
    maintain.add_argument(
        "--month", action="append", default=[], metavar="YYYY-MM", help="also this month"
    )
    archive = audit_commands.add_parser(
        "archive", help="export whole months before YYYY-MM to files, checkpoint, drop them"
    )
    archive.add_argument("--before", required=True, metavar="YYYY-MM")
    archive.add_argument("--dir", type=Path, required=True, metavar="DIR")
    restore = audit_commands.add_parser("restore", help="bring an archived month back")
    restore.add_argument("--month", required=True, metavar="YYYY-MM")
    restore.add_argument("--dir", type=Path, required=True, metavar="DIR")
    analytics_parser = commands.add_parser("analytics", help="the materialized analytics views")
    analytics_commands = analytics_parser.add_subparsers(dest="analytics_command", required=True)
    refresh = analytics_commands.add_parser(
        "refresh", help="REFRESH MATERIALIZED VIEW CONCURRENTLY each view; record when"
    )
    refresh.add_argument(
        "--view", action="append", default=[], choices=analytics.VIEWS, help="only this view"
    )
    commands.add_parser("health", help="check the database answers")
    queries = commands.add_parser(
        "queries", help="every named query: read or write, guaranteed row, CHECKs enforced"
    )
    queries.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.command == "health":
        return asyncio.run(_health())
    if args.command == "queries":
        print(query_table.as_json() if args.json else query_table.table())
        return 0
    if args.command == "analytics":
        return asyncio.run(_refresh(args.view))
    if args.audit_command == "verify":
        return asyncio.run(_verify(args.against, args.public_key, args.archive, args.from_genesis))
    if args.audit_command == "maintain":
        return asyncio.run(_maintain(args.months_ahead, args.month))
    if args.audit_command == "archive":
        return asyncio.run(_archive(args.before, args.dir))
    if args.audit_command == "restore":
        return asyncio.run(_restore(args.month, args.dir))
    if args.audit_command == "keygen":
        return _keygen(args.private_key, args.public_key)
    return asyncio.run(_export(args.out, args.signing_key))


def _secrets() -> list[str]:
    try:
        return load_settings().secrets()
    except SettingsError:
        return []


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (SettingsError, ValueError, OSError, audit_archive.ArchiveError) as exc:
        print(f"chip-quality-db: {scrub(str(exc), _secrets())}", file=sys.stderr)
        return 2
    except Exception as exc:
        mapped = translate(exc)
        if mapped is None:
            raise
        print(f"chip-quality-db: {scrub(str(mapped), _secrets())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
