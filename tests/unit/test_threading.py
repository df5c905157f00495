"""Threading decisions (pure): which ticket a mail joins, and why."""

from helpdesk.inbox.threading import Ignore, JoinTicket, MailFacts, NewTicket, TicketFacts, decide, subject_token

OPEN = TicketFacts(id=1, number="T-1001", status="open", participants=frozenset({"ann@acme.example"}))
CLOSED = TicketFacts(id=2, number="T-1002", status="closed", participants=frozenset({"ann@acme.example"}))


def mail(**changes) -> MailFacts:
    base = dict(sender="ann@acme.example", subject="Hello", in_reply_to=None, references=(), auto_generated="none",
                has_our_loop_header=False)
    return MailFacts(**{**base, **changes})


def test_in_reply_to_wins_over_references_and_subject() -> None:
    decision = decide(mail(in_reply_to="a@x", references=("b@x",), subject="[#T-1002]"),
                      tickets_by_message_id={"a@x": OPEN, "b@x": CLOSED}, tickets_by_number={"T-1002": CLOSED})
    assert decision == JoinTicket(1, "in_reply_to", "a@x")


def test_newest_reference_is_tried_first() -> None:
    other = TicketFacts(id=3, number="T-1003", status="open", participants=frozenset())
    decision = decide(mail(references=("old@x", "new@x")), tickets_by_message_id={"old@x": OPEN, "new@x": other},
                      tickets_by_number={})
    assert decision == JoinTicket(3, "references", "new@x")


def test_subject_token_joins_only_for_participants() -> None:
    known = {"T-1001": OPEN}
    assert decide(mail(subject="Re: [#T-1001] Printer"), tickets_by_message_id={}, tickets_by_number=known) == \
        JoinTicket(1, "subject_token", "T-1001")
    stranger = decide(mail(sender="eve@evil.example", subject="[#T-1001]"), tickets_by_message_id={},
                      tickets_by_number=known)
    assert stranger == NewTicket("token_from_non_participant", ref="T-1001", linked_ticket_id=1)


def test_token_prefix_is_configurable_and_case_insensitive() -> None:
    assert subject_token("Re: [#t-1001] x") == "T-1001"
    assert subject_token("Re: [HD T-1001] x", prefix="HD ") == "T-1001"
    assert subject_token("Re: [#T-1001] x", prefix="HD ") is None
    assert subject_token("T-1001 without brackets") is None


def test_closed_tickets_are_final() -> None:
    decision = decide(mail(in_reply_to="c@x"), tickets_by_message_id={"c@x": CLOSED}, tickets_by_number={})
    assert decision == NewTicket("closed_ticket", ref="T-1002", linked_ticket_id=2)
    auto = decide(mail(in_reply_to="c@x", auto_generated="auto_reply"), tickets_by_message_id={"c@x": CLOSED},
                  tickets_by_number={})
    assert isinstance(auto, Ignore)


def test_machine_mail_never_opens_a_ticket_but_joins_its_own() -> None:
    for kind in ("auto_reply", "bounce", "bulk"):
        assert decide(mail(auto_generated=kind), tickets_by_message_id={}, tickets_by_number={}) == \
            Ignore(f"{kind}_without_ticket")
        assert decide(mail(auto_generated=kind, in_reply_to="a@x"), tickets_by_message_id={"a@x": OPEN},
                      tickets_by_number={}) == JoinTicket(1, "in_reply_to", "a@x")
    stranger_auto = decide(mail(sender="ooo@other.example", auto_generated="auto_reply", subject="[#T-1001]"),
                           tickets_by_message_id={}, tickets_by_number={"T-1001": OPEN})
    assert stranger_auto == Ignore("auto_reply_without_ticket")


def test_list_mail_is_ordinary_customer_mail() -> None:
    assert decide(mail(auto_generated="list"), tickets_by_message_id={}, tickets_by_number={}) == NewTicket("new")


def test_our_own_mail_is_ignored() -> None:
    assert decide(mail(has_our_loop_header=True, in_reply_to="a@x"), tickets_by_message_id={"a@x": OPEN},
                  tickets_by_number={}) == Ignore("own_mail")
