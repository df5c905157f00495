"""What clients may send on /ws, the resume parameters, and the same-origin rule."""

import json

import pytest

from helpdesk.events import Event
from helpdesk.live import protocol
from helpdesk.live.origin import is_same_origin
from helpdesk.live.postgres import MAX_PAYLOAD_BYTES, decode_notification, encode_notification


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type":"viewing","ticket_id":4}', protocol.PresenceChange(4, "viewing")),
        ('{"type":"replying","ticket_id":4}', protocol.PresenceChange(4, "replying")),
        ('{"type":"left","ticket_id":4}', protocol.PresenceChange(4, None)),
        ('{"type":"pong"}', protocol.Pong()),
    ],
)
def test_client_messages_parse(text: str, expected: protocol.ClientMessage) -> None:
    assert protocol.parse_client_message(text) == expected


@pytest.mark.parametrize(
    "text",
    ["not json", "[1]", '{"type":"viewing"}', '{"type":"viewing","ticket_id":"4"}', '{"type":"viewing","ticket_id":0}',
     '{"type":"viewing","ticket_id":true}', '{"type":"subscribe"}', "{}"],
)
def test_bad_client_messages_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(protocol.ProtocolError) as refused:
        protocol.parse_client_message(text)
    assert refused.value.detail


def test_resume_parameters() -> None:
    assert protocol.parse_resume(None, None) is None
    assert protocol.parse_resume("abc", "12") == protocol.Resume("abc", 12)
    assert protocol.parse_resume(None, "0") == protocol.Resume(None, 0)
    for bad in ("-1", "x", "1.5", "²", "9" * 40):
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_resume("abc", bad)


def test_event_messages_carry_seq_and_version() -> None:
    message = json.loads(protocol.event(9, Event("ticket", "updated", 42, version=7)))
    assert message == {"type": "event", "seq": 9,
                       "event": {"type": "ticket", "op": "updated", "id": 42, "version": 7, "data": {}}}


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        (None, "helpdesk.example", True),  # not a browser
        ("https://helpdesk.example", "helpdesk.example", True),
        ("https://HelpDesk.example", "helpdesk.example:443", True),
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://127.0.0.1:8001", "127.0.0.1:8000", False),
        ("https://evil.example", "helpdesk.example", False),
        ("https://helpdesk.example.evil.example", "helpdesk.example", False),
        ("null", "helpdesk.example", False),
        ("https://helpdesk.example", None, False),
    ],
)
def test_only_the_same_origin_may_open_a_socket(origin: str | None, host: str | None, allowed: bool) -> None:
    assert is_same_origin(origin, host) is allowed


def test_notifications_round_trip_and_stay_under_the_postgres_limit() -> None:
    event = Event("message", "created", 3, data={"ticket_id": 9, "kind": "reply"})
    assert decode_notification(encode_notification(event)) == event
    huge = Event("ticket", "updated", 4, version=2, data={"blob": "x" * 10_000})
    payload = encode_notification(huge)
    assert len(payload.encode()) <= MAX_PAYLOAD_BYTES
    assert decode_notification(payload) == Event("ticket", "updated", 4, version=2, data={"truncated": True})
