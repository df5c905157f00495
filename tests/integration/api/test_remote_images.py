"""The remote-images view of a customer mail: https images back, everything else still sanitised."""

from __future__ import annotations

from email.message import EmailMessage

from httpx import AsyncClient

from helpdesk.inbox.ingest import IMPORT_SOURCE, ingest_stored, parse_received, store_received
from tests.support.agents import RoleAgents
from tests.support.clock import ShiftableClock

PIXEL = "https://tracker.example/pixel.gif"
HTML = f"""
<p>Our <b>logo</b> is broken:</p>
<img src="{PIXEL}" alt="logo" onerror="alert(1)">
<img src="http://plain.example/insecure.png" alt="insecure">
<img src="cid:shot@acme.example" alt="shot">
<script>alert('x')</script>
<form action="https://evil.example"><input name="password"></form>
"""
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000" "1f15c4890000000d49444154789c63f8cf000000030101" "00c9fe92ef0000000049454e44ae426082"
)


async def _mail_in(clock: ShiftableClock) -> None:
    mail = EmailMessage()
    mail["From"] = "Ann Lee <ann@acme.example>"
    mail["To"] = "support@helpdesk.example"
    mail["Subject"] = "Logo broken"
    mail["Message-ID"] = "<logo-1@acme.example>"
    mail.set_content("Our logo is broken.")
    mail.add_alternative(HTML, subtype="html")
    mail.get_payload()[1].add_related(PNG, "image", "png", cid="<shot@acme.example>", filename="shot.png")
    received = parse_received(mail.as_bytes())
    [stored] = await store_received(IMPORT_SOURCE, [received], now=clock.now())
    assert await ingest_stored(stored.inbound_id, received, now=clock.now()) == "processed"


async def test_remote_https_images_come_back_only_in_their_own_sandboxed_document(
    client: AsyncClient, agents: RoleAgents, clock: ShiftableClock
) -> None:
    await _mail_in(clock)
    headers = agents.agent.headers
    [ticket] = (await client.get("/api/tickets", headers=headers)).json()["items"]
    [message] = (await client.get(f"/api/tickets/{ticket['id']}", headers=headers)).json()["messages"]
    assert PIXEL not in message["html"]  # the conversation itself keeps remote images out

    response = await client.get(f"/api/messages/{message['id']}/with-remote-images", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert policy.startswith("sandbox ") and "img-src data: https:;" in policy and "default-src 'none'" in policy
    assert "script-src" not in policy  # default-src 'none' covers it
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    document = response.text
    assert f'src="{PIXEL}"' in document
    assert "http://plain.example" not in document  # https only
    assert 'src="data:image/png;base64,' in document  # the inline image, ready for a frame that fetches nothing
    for hostile in ("<script", "onerror", "<form", "<input", "alert("):
        assert hostile not in document


async def test_messages_without_an_original_mail_say_so(client: AsyncClient, agents: RoleAgents) -> None:
    headers = agents.agent.headers
    created = await client.post("/api/tickets", headers=headers, json={
        "subject": "Typed in", "requester": {"name": "Pat", "email": "pat@acme.example"},
        "text": "hi", "html": '<p>hi <img src="https://cdn.example/a.png"></p>'})
    message_id = created.json()["messages"][0]["id"]
    response = await client.get(f"/api/messages/{message_id}/with-remote-images", headers=headers)
    assert response.status_code == 404 and response.json()["field"] == "message_id"
    assert (await client.get("/api/messages/999999/with-remote-images", headers=headers)).status_code == 404


async def test_the_remote_images_view_needs_a_login(client: AsyncClient, clean_db: None) -> None:
    assert (await client.get("/api/messages/1/with-remote-images")).status_code == 401
