from httpx import AsyncClient

from tests.support.agents import RoleAgents


async def test_agent_creates_and_lists_a_ticket(client: AsyncClient, agents: RoleAgents) -> None:
    created = await client.post(
        "/api/tickets",
        json={"subject": "Printer on fire", "requester": {"name": "Pat", "email": "Pat@Customer.example"}, "text": "help"},
        headers=agents.agent.headers,
    )
    assert created.status_code == 201, created.text
    ticket = created.json()["ticket"]
    assert ticket["number"] == f"T-{ticket['id'] + 1000}"
    assert ticket["requester"]["email"] == "pat@customer.example"
    listed = await client.get("/api/tickets", headers=agents.agent.headers)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()["items"]] == [ticket["id"]]
    assert listed.json()["next"] is None
