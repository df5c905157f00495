"""Small helpers shared by the customer API tests: create records over HTTP, check error bodies."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response


def assert_error(response: Response, status: int, field: str | None, error: str | None = None) -> dict[str, Any]:
    """Every 4xx answer is ``{"error", "detail", "field"}``; returns the body for more checks."""
    assert response.status_code == status, response.text
    body = response.json()
    assert {"error", "detail", "field"} <= body.keys(), body
    assert body["field"] == field, body
    assert isinstance(body["detail"], str) and body["detail"], body
    if error is not None:
        assert body["error"] == error, body
    return body


async def create_account(client: AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Acme")
    response = await client.post("/api/accounts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def create_contact(client: AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Pat Doe")
    body.setdefault("emails", ["pat@acme.example"])
    response = await client.post("/api/contacts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def create_purchase(client: AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("order_number", "SO-1")
    body.setdefault("sku", "SKU-1")
    body.setdefault("product", "Widget")
    body.setdefault("amount", "10.00")
    body.setdefault("currency", "EUR")
    body.setdefault("ordered_at", "2024-03-01T10:00:00+00:00")
    response = await client.post("/api/purchases", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def create_ticket(client: AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("subject", "Help")
    body.setdefault("text", "please help")
    response = await client.post("/api/tickets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["ticket"]


async def collect_pages(client: AsyncClient, url: str, headers: dict[str, str], **params: Any) -> list[list[dict]]:
    """Follow ``next`` cursors to the end; each page's items, in order."""
    pages: list[list[dict]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page["items"])
        cursor = page["next"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not end"
