"""Outgoing mail rules (pure): composing, subjects, RFC 3834 refusals, sandboxed templates."""

import email
import email.policy

import pytest

from helpdesk.errors import ValidationFailed
from helpdesk.outbox.autoreply import AckFacts, acknowledgement_refusal
from helpdesk.outbox.compose import OutgoingAttachment, OutgoingMail, compose, header_safe, reply_subject
from helpdesk.templates import ACK_PLACEHOLDERS, DEFAULT_ACK_BODY, check_template, render


def test_subject_carries_the_token_exactly_once() -> None:
    assert reply_subject("Printer broken", "T-1001") == "Re: [#T-1001] Printer broken"
    assert reply_subject("Re: RE: Aw: [#T-1001] Printer [#T-1001]", "T-1001") == "Re: [#T-1001] Printer"
    assert reply_subject("Fwd: [#t-1001] x", "T-1001") == "Re: [#T-1001] x"


def test_no_header_injection_through_names_subjects_or_filenames() -> None:
    mail = OutgoingMail(
        from_name="Support\r\nBcc: evil@example.com", from_address="support@helpdesk.example", to=("a@b.example",),
        subject="Hi\nBcc: evil@example.com", message_id="id@helpdesk.example", text="hello",
        attachments=(OutgoingAttachment("a\r\nContent-Type: text/html.txt", "text/plain", b"x"),),
    )
    raw = compose(mail).as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert "\r\nBcc:" not in raw.decode() and "\nBcc:" not in raw.decode()
    assert parsed["Subject"] == "Hi Bcc: evil@example.com"
    assert header_safe("a\r\nb\x00c") == "a b c"


def test_automatic_mail_says_so_and_replies_thread() -> None:
    mail = OutgoingMail(from_name="Support", from_address="support@helpdesk.example", to=("ann@acme.example",),
                        subject="s", message_id="ours@helpdesk.example", text="t", html="<p>t</p>",
                        in_reply_to="theirs@acme.example", references=("root@acme.example", "theirs@acme.example"),
                        automatic=True)
    message = compose(mail)
    assert message["Auto-Submitted"] == "auto-replied" and message["X-Helpdesk-Loop"] == "helpdesk"
    assert message["In-Reply-To"] == "<theirs@acme.example>"
    assert message["References"] == "<root@acme.example> <theirs@acme.example>"
    assert message.get_content_type() == "multipart/alternative"


def facts(**changes) -> AckFacts:
    base = dict(sender="ann@acme.example", auto_generated="none", return_path="ann@acme.example",
                our_addresses=frozenset({"support@helpdesk.example"}), already_acknowledged=False,
                sent_to_sender_recently=0, cap_per_window=5)
    return AckFacts(**{**base, **changes})


@pytest.mark.parametrize("changes", [
    {"auto_generated": "auto_reply"}, {"auto_generated": "bounce"}, {"auto_generated": "bulk"},
    {"auto_generated": "list"}, {"sender": "MAILER-DAEMON@x.example"}, {"sender": "postmaster@x.example"},
    {"sender": "no-reply@x.example"}, {"sender": "noreply@x.example"}, {"sender": "support@helpdesk.example"},
    {"return_path": ""}, {"already_acknowledged": True}, {"sent_to_sender_recently": 5}, {"sender": None},
])
def test_acknowledgements_are_refused_when_rfc3834_says_so(changes) -> None:
    assert acknowledgement_refusal(facts(**changes)) is not None


def test_ordinary_mail_is_acknowledged() -> None:
    assert acknowledgement_refusal(facts()) is None
    assert acknowledgement_refusal(facts(sent_to_sender_recently=4)) is None


def test_templates_render_placeholders_and_cannot_reach_the_application() -> None:
    text = render(DEFAULT_ACK_BODY, {**ACK_PLACEHOLDERS, "first_response_due": "Monday 10:00"})
    assert "T-1001" in text and "Printer broken" in text and "Monday 10:00" in text
    for attack in ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ cycler.__init__.__globals__ }}",
                   "{% for x in [].append(1) %}{% endfor %}", "{{ unknown_placeholder }}", "{% if %}"):
        with pytest.raises(ValidationFailed) as error:
            check_template(attack, ACK_PLACEHOLDERS, field="ack_body_template")
        assert error.value.field == "ack_body_template"
