"""RFC 3834 rules for automatic answers (pure): when an acknowledgement may be sent at all."""

from __future__ import annotations

from dataclasses import dataclass

# Senders that are machines or explicitly refuse answers.
_NEVER_ANSWER_LOCAL_PARTS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "no_reply", "donotreply",
                             "do-not-reply", "bounce", "bounces")


@dataclass(frozen=True)
class AckFacts:
    sender: str | None
    auto_generated: str  # none, auto_reply, bounce, bulk, list
    return_path: str | None  # "" for the null sender
    our_addresses: frozenset[str]
    already_acknowledged: bool  # this ticket got one already
    sent_to_sender_recently: int  # acknowledgements to this sender within the cap window
    cap_per_window: int


def acknowledgement_refusal(facts: AckFacts) -> str | None:
    """Why no acknowledgement may be sent, or None when one may."""
    if facts.auto_generated != "none":
        return f"{facts.auto_generated} mail is never answered automatically"
    if not facts.sender or facts.return_path == "":
        return "no sender to answer"
    local_part = facts.sender.split("@")[0].lower()
    if local_part.startswith(_NEVER_ANSWER_LOCAL_PARTS):
        return "the sender does not take answers"
    if facts.sender.lower() in facts.our_addresses:
        return "the sender is one of our own addresses"
    if facts.already_acknowledged:
        return "the ticket was acknowledged already"
    if facts.sent_to_sender_recently >= facts.cap_per_window:
        return "the per-sender cap is reached"
    return None
