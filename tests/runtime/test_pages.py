"""Keyset pages through the list queries with the API's cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from chip_quality_db import Pool, transaction
from chip_quality_db.schemas import AuditEntryResponse, Page, PageRequest
from chip_quality_queries import audit_log, parts
from chip_quality_queries.models import PartType


async def test_audit_entries_page_by_their_own_order(pool: Pool) -> None:
    """Audit entries have no created_at: their cursor is (recorded_at, id), as their query's."""
    started = datetime.now(UTC)
    async with transaction(pool, actor="pager") as conn:
        for number in range(3):
            await parts.create_part(
                conn,
                parts.CreatePartParams(
                    part_number=f"PCB-PAGE-{number}", part_name="Paged", part_type=PartType.PCB
                ),
            )
    seen: list[UUID] = []
    request = PageRequest(page_size=2)
    while True:
        after_recorded_at, after_id = request.after()
        rows = await audit_log.list_audit_entries(
            pool,
            audit_log.ListAuditEntriesParams(
                recorded_from=started - timedelta(hours=1),
                recorded_before=started + timedelta(hours=1),
                actor="pager",
                after_recorded_at=after_recorded_at,
                after_id=after_id,
                page_size=request.page_size,
            ),
        )
        page = Page[AuditEntryResponse].of(
            [AuditEntryResponse.model_validate(r, from_attributes=True) for r in rows],
            request.page_size,
        )
        seen.extend(entry.id for entry in page.items)
        if page.next_cursor is None:
            break
        request = PageRequest(page_size=2, cursor=page.next_cursor)
    assert len(seen) == len(set(seen)) == 3
