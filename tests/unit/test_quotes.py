"""split_reply: the newly written part of a reply, without quoted history or signature."""

from __future__ import annotations

import pytest

from helpdesk.inbox.quotes import split_reply


@pytest.mark.parametrize(
    "header",
    [
        "On Mon, Apr 2, 2012 at 6:26 PM, Megan One <megan@example.com> wrote:",
        "On 04/02/2012 06:26 PM, Megan One wrote:",
        "Am 13.12.2017 um 21:11 schrieb John Doe <john@example.com>:",
        "Le 29 avr. 2025 à 11:11, Chris <chris@example.com> a écrit :",
        "El 3 may 2021, a las 10:00, Ana <ana@example.com> escribió:",
        '02.04.2012 14:20 пользователь "bob@example.com" <bob@example.com> написал:',
        "tir. 18. apr. 2017 kl. 13:09 skrev Test user <test@example.com>:",
    ],
)
def test_cuts_at_reply_headers(header: str) -> None:
    text = f"Thanks, that fixed it.\n\n{header}\n\n> Did you restart?\n> Bob\n"
    assert split_reply(text) == "Thanks, that fixed it."


def test_cuts_at_a_reply_header_wrapped_over_several_lines() -> None:
    text = (
        "Sounds good.\n\n"
        "On Mon, Aug 26, 2019 at 4:37 PM The Hiring Engine <\n"
        "a-really-long-automated-email@example.com> wrote:\n\n"
        "> Test\n"
    )
    assert split_reply(text) == "Sounds good."


def test_cuts_at_a_header_even_without_quote_markers() -> None:
    text = "New text\n\nOn Tue, Jan 5, 2021 at 9:00 AM Ann <ann@example.com> wrote:\nOld text, not quoted\n"
    assert split_reply(text) == "New text"


def test_cuts_at_original_message_separator() -> None:
    text = "Hello\n\n-----Original Message-----\nFrom: bob <bob@example.com>\nSent: Monday\n\nHi\n"
    assert split_reply(text) == "Hello"


def test_cuts_at_localised_original_message_separator() -> None:
    text = "Hallo\n\n-----Ursprüngliche Nachricht-----\nVon: Max <max@example.de>\n\nAlt\n"
    assert split_reply(text) == "Hallo"


def test_cuts_at_outlook_header_block() -> None:
    text = (
        "Please see below.\n\n"
        "From: Support <support@example.com>\n"
        "Sent: Monday, August 26, 2019 4:37 PM\n"
        "To: Ann <ann@example.com>\n"
        "Subject: Your ticket\n\n"
        "Old message\n"
    )
    assert split_reply(text) == "Please see below."


def test_cuts_at_outlook_header_block_in_german_with_bold_markers() -> None:
    text = "Danke!\n\n*Von:* Max <max@example.de>\n*Gesendet:* Montag, 1. März 2021\n*An:* Ann\n\nAlt\n"
    assert split_reply(text) == "Danke!"


def test_cuts_at_underscore_separator_and_drops_trailing_separator_lines() -> None:
    text = "Reply here\n\n________________________________\nFrom: someone\nold\n"
    assert split_reply(text) == "Reply here"


def test_removes_trailing_quoted_block_with_its_attribution() -> None:
    text = 'Hello\n\n26.06.2014, 14:41, "Alexander" <abc@example.com>:\n> Hi\n> How are you?\n'
    assert split_reply(text) == "Hello"


def test_quoted_header_inside_the_quote_block() -> None:
    text = "Hello\n> On 22 Aug 2015, at 19:21, Adam <adam@example.com> wrote:\n>\n> Hi there!\n"
    assert split_reply(text) == "Hello"


@pytest.mark.parametrize("delimiter", ["-- ", "--"])
def test_cuts_signature_after_delimiter(delimiter: str) -> None:
    text = f"Looks good to me.\n\n{delimiter}\nJane Doe\nACME Support\n"
    assert split_reply(text) == "Looks good to me."


def test_dashes_inside_a_line_are_not_a_signature() -> None:
    text = "this is an email with a correct -- signature.\nsecond line\n"
    assert split_reply(text) == text.rstrip("\n")


def test_bottom_posting_keeps_the_text_after_the_quote() -> None:
    text = "On 04/02/2012 06:26 PM, Megan One wrote:\n> Hi\nHello\n"
    assert split_reply(text) == "Hello"


def test_inline_replies_keep_questions_and_answers() -> None:
    text = "> Option A?\nYes, A.\n> Option B?\nNo.\n"
    assert split_reply(text) == "> Option A?\nYes, A.\n> Option B?\nNo."


def test_all_quoted_text_falls_back_to_the_full_text() -> None:
    text = "> only\n> quoted\n> lines\n"
    assert split_reply(text) == text


def test_only_a_header_and_quote_falls_back_to_the_full_text() -> None:
    text = "On Mon, Jan 4, 2021 at 9:00 AM Bob <bob@example.com> wrote:\n> hello\n"
    assert split_reply(text) == text


def test_empty_and_blank_text_are_returned_unchanged() -> None:
    assert split_reply("") == ""
    assert split_reply("  \n") == "  \n"


@pytest.mark.parametrize(
    "text",
    [
        "On the surface, this looks like a quote header but it's not.\n\nOn average, it works.\n",
        "The data comes From: our database, not From: external sources.\nThis is the message.\n",
        'Check https://example.com/on-date-someone-wrote-about-parsing\nIt\'s about "wrote:" patterns.\n',
        "Here are timestamps:\n2024-01-15 14:30:25\n15.01.2024 14:30\nAll content.\n",
    ],
)
def test_false_positives_keep_the_whole_text(text: str) -> None:
    assert split_reply(text) == text.rstrip("\n")


def test_forwarded_messages_are_kept() -> None:
    text = (
        "Please look at this.\n\n"
        "---------- Forwarded message ---------\n"
        "From: Customer <c@example.com>\n"
        "Date: Mon, 1 Mar 2021\n"
        "Subject: Broken\n\n"
        "It is broken.\n"
    )
    assert "It is broken." in split_reply(text)


def test_windows_and_old_mac_line_endings() -> None:
    text = "Hello\r\n\r\nOn Mon, Bob <bob@example.com> wrote:\r\n> Hi\r\n"
    assert split_reply(text) == "Hello"
    assert split_reply("Hi\r-- \rsig\r") == "Hi"


def test_long_quotes_are_handled_line_by_line() -> None:
    quoted = "".join(f"> line {number}\n" for number in range(50_000))
    text = "Top\n\nOn Mon, Bob <bob@example.com> wrote:\n" + quoted
    assert split_reply(text) == "Top"
