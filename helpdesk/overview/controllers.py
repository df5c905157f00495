from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath

from helpdesk.overview import service
from helpdesk.overview.schemas import CustomerOverview
from helpdesk.web.auth import CurrentActor


class OverviewController(Controller):
    path = "/api"
    tags = ["customer 360"]

    @get("/contacts/{contact_id:int}/overview", operation_id="contact_overview")
    async def contact_overview(self, contact_id: FromPath[int], actor: CurrentActor) -> CustomerOverview:
        return await service.contact_overview(actor, contact_id)

    @get("/accounts/{account_id:int}/overview", operation_id="account_overview")
    async def account_overview(self, account_id: FromPath[int], actor: CurrentActor) -> CustomerOverview:
        return await service.account_overview(actor, account_id)
