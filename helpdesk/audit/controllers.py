from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.params import FromPath

from helpdesk.audit import service
from helpdesk.web.auth import requires


class AuditController(Controller):
    path = "/api/audit"
    tags = ["audit"]
    guards = [requires("admin")]

    @get("/{object_type:str}/{object_id:int}", operation_id="list_audit_events")
    async def list_events(self, object_type: FromPath[str], object_id: FromPath[int]) -> list[dict[str, Any]]:
        """The audit trail of one object, newest first."""
        return await service.list_for(object_type, object_id)
