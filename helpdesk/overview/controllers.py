from __future__ import annotations

from litestar import Controller, get

from helpdesk.actors import Actor
from helpdesk.overview import service
from helpdesk.overview.schemas import CustomerOverview


class OverviewController(Controller):
    path = "/api"
    tags = ["customer 360"]

    @get("/contacts/{contact_id:int}/overview", operation_id="contact_overview")
    async def contact_overview(self, contact_id: int, actor: Actor) -> CustomerOverview:
        return await service.contact_overview(actor, contact_id)

    @get("/accounts/{account_id:int}/overview", operation_id="account_overview")
    async def account_overview(self, account_id: int, actor: Actor) -> CustomerOverview:
        return await service.account_overview(actor, account_id)
