"""A comparable snapshot of everything the migrations create, read from pg_catalog.

Each category maps to a sorted list of rows of text: two databases have the same
schema (as far as the migrations are concerned) when their snapshots are equal.
Comments, owners and privileges are included, since the generator and the audit
design depend on them. An ACL is compared as the privileges it grants: a NULL ACL
(the owner's defaults) equals an explicit one that grants exactly those, which a
GRANT followed by a REVOKE leaves behind.
"""

from __future__ import annotations

import asyncpg

Snapshot = dict[str, list[tuple[str | None, ...]]]

_QUERIES = {
    "schemas": """
        SELECT nspname::text, coalesce(nspacl, acldefault('n', nspowner))::text,
               pg_get_userbyid(nspowner)::text
        FROM pg_namespace
        WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
    """,
    "extensions": "SELECT extname::text, extversion FROM pg_extension",
    "relations": """
        SELECT c.relname::text, c.relkind::text,
               CASE WHEN c.relkind = 'S' THEN coalesce(c.relacl, acldefault('s', c.relowner))
                    WHEN c.relkind IN ('r', 'p', 'v', 'm', 'f')
                        THEN coalesce(c.relacl, acldefault('r', c.relowner))
               END::text,
               obj_description(c.oid, 'pg_class'), pg_get_userbyid(c.relowner)::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public'
    """,
    "columns": """
        SELECT c.relname::text, a.attnum::text, a.attname::text,
               format_type(a.atttypid, a.atttypmod), a.attnotnull::text,
               pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND a.attnum > 0 AND NOT a.attisdropped
    """,
    "constraints": """
        SELECT c.conrelid::regclass::text, c.conname::text, c.contype::text,
               pg_get_constraintdef(c.oid), obj_description(c.oid, 'pg_constraint')
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public'
    """,
    "indexes": "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "triggers": """
        SELECT t.tgrelid::regclass::text, t.tgname::text, pg_get_triggerdef(t.oid),
               t.tgenabled::text
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND NOT t.tgisinternal
    """,
    "functions": """
        SELECT p.oid::regprocedure::text, p.prokind::text,
               CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END,
               coalesce(p.proacl, acldefault('f', p.proowner))::text,
               obj_description(p.oid, 'pg_proc'), pg_get_userbyid(p.proowner)::text
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'
    """,
    "types": """
        SELECT t.typname::text, t.typtype::text,
               (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                FROM pg_enum e WHERE e.enumtypid = t.oid),
               obj_description(t.oid, 'pg_type')
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public'
    """,
}


async def snapshot(conn: asyncpg.Connection) -> Snapshot:
    result: Snapshot = {}
    for category, query in _QUERIES.items():
        rows = await conn.fetch(query)
        result[category] = sorted(tuple(row.values()) for row in rows)
    return result


def without_migrations_table(snap: Snapshot) -> Snapshot:
    """The snapshot minus dbmate's schema_migrations (table, row type, index, key)."""

    def keep(row: tuple[str | None, ...]) -> bool:
        return not any(
            isinstance(value, str) and value.lstrip("_").startswith("schema_migrations")
            for value in row[:2]
        )

    return {category: [row for row in rows if keep(row)] for category, rows in snap.items()}


async def snapshot_of(url: str) -> Snapshot:
    conn = await asyncpg.connect(url)
    try:
        return await snapshot(conn)
    finally:
        await conn.close()
