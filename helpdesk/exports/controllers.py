from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from helpdesk.exports import service
from helpdesk.web.auth import CurrentActor, requires

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


class ExportController(Controller):
    path = "/api/exports"
    tags = ["exports"]
    guards = [requires("admin")]

    @get("/{kind:str}", operation_id="export_records")
    async def export(self, kind: FromPath[str], actor: CurrentActor, format: FromQuery[str] = "csv") -> Stream:
        """Download every record of ``kind`` (tickets, messages, accounts, contacts, purchases, activities)."""
        chunks = service.export(actor, kind, format)
        return Stream(
            chunks,
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{kind}.{format}"', "X-Content-Type-Options": "nosniff"},
        )
