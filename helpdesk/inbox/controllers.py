from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from helpdesk.inbox import service
from helpdesk.inbox.schemas import (
    InboundMailRead,
    MailboxCheck,
    MailboxCreate,
    MailboxRead,
    MailboxUpdate,
)
from helpdesk.pagination import DEFAULT_LIMIT, Page
from helpdesk.web.auth import CurrentActor, Now, requires


class MailboxController(Controller):
    path = "/api/mailboxes"
    tags = ["mailboxes"]
    guards = [requires("admin")]

    @get("/", operation_id="list_mailboxes")
    async def list_mailboxes(self, actor: CurrentActor) -> list[MailboxRead]:
        return await service.list_mailboxes(actor)

    @get("/{mailbox_id:int}", operation_id="get_mailbox")
    async def get_mailbox(self, mailbox_id: FromPath[int], actor: CurrentActor) -> MailboxRead:
        """The mailbox's settings and health (state, last error, last success, ingested, backlog)."""
        return await service.get_mailbox(actor, mailbox_id)

    @post("/", operation_id="create_mailbox")
    async def create_mailbox(self, data: JSONBody[MailboxCreate], actor: CurrentActor, now: Now) -> MailboxRead:
        return await service.create_mailbox(actor, data, now=now)

    @patch("/{mailbox_id:int}", operation_id="update_mailbox")
    async def update_mailbox(
        self, mailbox_id: FromPath[int], data: JSONBody[MailboxUpdate], actor: CurrentActor, now: Now
    ) -> MailboxRead:
        return await service.update_mailbox(actor, mailbox_id, data, now=now)

    @delete("/{mailbox_id:int}", operation_id="delete_mailbox")
    async def delete_mailbox(self, mailbox_id: FromPath[int], actor: CurrentActor, now: Now) -> None:
        await service.delete_mailbox(actor, mailbox_id, now=now)

    @post("/{mailbox_id:int}/test", operation_id="test_mailbox", status_code=200)
    async def test_mailbox(self, mailbox_id: FromPath[int], actor: CurrentActor) -> MailboxCheck:
        """Log in to the IMAP server and report what is there."""
        await service.get_mailbox(actor, mailbox_id)
        return await asyncio.to_thread(service.check_connection, await service.mailbox_row(mailbox_id))


class InboundMailController(Controller):
    path = "/api/inbound-mails"
    tags = ["mailboxes"]
    guards = [requires("admin")]

    @get("/", operation_id="list_inbound_mails")
    async def list_inbound(
        self, actor: CurrentActor,
        # "state" is a reserved handler argument in Litestar, so the query name is mapped.
        mail_state: Annotated[str | None, QueryParameter(name="state")] = None,
        mailbox_id: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None, limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[InboundMailRead]:
        """Stored mail, newest first; ``state=failed`` or ``quarantined`` lists what needs attention."""
        return await service.list_inbound(actor, state=mail_state, mailbox_id=mailbox_id, cursor=cursor, limit=limit)

    @get("/{inbound_id:int}", operation_id="get_inbound_mail")
    async def get_inbound(self, inbound_id: FromPath[int], actor: CurrentActor) -> InboundMailRead:
        return await service.get_inbound(actor, inbound_id)

    @get("/{inbound_id:int}/raw", operation_id="download_inbound_mail", media_type="message/rfc822")
    async def raw(self, inbound_id: FromPath[int], actor: CurrentActor) -> Response[bytes]:
        content = await service.get_inbound_raw(actor, inbound_id)
        return Response(content, media_type="message/rfc822", headers={
            "Content-Disposition": f'attachment; filename="inbound-{inbound_id}.eml"',
            "X-Content-Type-Options": "nosniff",
        })

    @post("/{inbound_id:int}/retry", operation_id="retry_inbound_mail", status_code=200)
    async def retry(self, inbound_id: FromPath[int], actor: CurrentActor, now: Now) -> InboundMailRead:
        return await service.retry_inbound(actor, inbound_id, now=now)
