"""parse_message: bytes in, ParsedMail out, whatever the mail looks like."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timezone
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.inbox.classify import classify
from helpdesk.inbox.parse import (
    Address,
    ParsedMail,
    decode_bytes,
    parse_message,
    parsed_to_json,
    sanitize_filename,
)

CRLF = b"\r\n"


def mail(*header_lines: str, body: bytes | str = b"Hello\r\n") -> bytes:
    """A raw message from header lines (str, may contain 8-bit via latin-1) and a body."""
    head = CRLF.join(line.encode("latin-1") if isinstance(line, str) else line for line in header_lines)
    data = body.encode("latin-1") if isinstance(body, str) else body
    return head + CRLF + CRLF + data


def simple_message(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Ann Customer <Ann.Customer@Example.COM>")
    message["To"] = headers.pop("To", "Support <support@helpdesk.example>")
    message["Subject"] = headers.pop("Subject", "Printer on fire")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("It is on fire.\n")
    return message


# --- headers -------------------------------------------------------------------------------


def test_basic_fields() -> None:
    message = simple_message(
        Cc="Bob <bob@example.com>, carol@example.com",
        Reply_To="Ann Private <ann@home.example>",
        Date="Mon, 02 Mar 2026 10:15:00 +0100",
        Message_ID="<abc.123@mail.example.com>",
        In_Reply_To="<parent@helpdesk.example>",
        References="<root@helpdesk.example> <parent@helpdesk.example>",
        X_Helpdesk_Loop="ticket-42",
        Return_Path="<bounces@example.com>",
    )
    parsed = parse_message(message.as_bytes())

    assert parsed.message_id == "abc.123@mail.example.com"
    assert parsed.message_id_synthetic is False
    assert parsed.from_ == Address(name="Ann Customer", address="ann.customer@example.com")
    assert parsed.to == (Address("Support", "support@helpdesk.example"),)
    assert parsed.cc == (Address("Bob", "bob@example.com"), Address("", "carol@example.com"))
    assert parsed.reply_to == (Address("Ann Private", "ann@home.example"),)
    assert parsed.subject == "Printer on fire"
    assert parsed.date == datetime(2026, 3, 2, 9, 15, tzinfo=timezone.utc)
    assert parsed.date.tzinfo is not None
    assert parsed.in_reply_to == "parent@helpdesk.example"
    assert parsed.references == ("root@helpdesk.example", "parent@helpdesk.example")
    assert parsed.text == "It is on fire.\n"
    assert parsed.new_text == "It is on fire."
    assert parsed.html is None
    assert parsed.attachments == ()
    assert parsed.auto_generated == "none"
    assert parsed.bounced_message_ids == ()
    assert parsed.loop_header == "ticket-42"
    assert parsed.return_path == "bounces@example.com"
    assert parsed.too_large is False


def test_missing_message_id_gets_a_stable_synthetic_one() -> None:
    raw = mail("From: a@example.com", "Subject: no id")
    first, second = parse_message(raw), parse_message(raw)
    other = parse_message(raw + b"changed")

    assert first.message_id_synthetic is True
    assert first.message_id == second.message_id
    assert first.message_id.startswith("sha256-") and first.message_id.endswith("@synthetic.helpdesk.invalid")
    assert len(first.message_id.split("@")[0]) == len("sha256-") + 64
    assert other.message_id != first.message_id


def test_message_id_without_brackets_and_unusable_message_id() -> None:
    assert parse_message(mail("Message-ID: bare.id@example.com")).message_id == "bare.id@example.com"
    unusable = parse_message(mail("Message-ID: <>"))
    assert unusable.message_id_synthetic is True
    assert any("message-id" in defect for defect in unusable.defects)


def test_rfc2047_headers_are_decoded() -> None:
    raw = mail(
        "From: =?utf-8?b?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>",
        "To: =?iso-8859-1?q?Fran=E7ois?= <francois@example.fr>",
        "Subject: =?utf-8?q?Caf=C3=A9_ist_kaputt?= =?utf-8?q?_=E2=98=95?=",
    )
    parsed = parse_message(raw)
    assert parsed.from_ == Address("Jürgen Müller", "juergen@example.de")
    assert parsed.to == (Address("François", "francois@example.fr"),)
    assert parsed.subject == "Café ist kaputt ☕"


def test_encoded_word_in_a_charset_python_does_not_know_is_still_decoded() -> None:
    # x-mac-cyrillic is not a Python codec name; the stdlib parser would give U+FFFD.
    encoded = "".join(f"={byte:02X}" for byte in "Привет".encode("mac_cyrillic"))
    parsed = parse_message(mail(f"Subject: =?x-mac-cyrillic?q?{encoded}?="))
    assert parsed.subject == "Привет"
    assert any("subject" in defect for defect in parsed.defects)


def test_broken_base64_encoded_word_does_not_crash() -> None:
    parsed = parse_message(mail("Subject: =?utf-8?b?broken!!?= tail", "From: a@example.com"))
    assert parsed.subject.endswith("tail")


def test_eight_bit_encoded_word_with_raw_bytes_inside() -> None:
    parsed = parse_message(mail("Subject: =?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?="))
    assert parsed.subject == "Die Hasen und die Frösche"


def test_raw_utf8_and_latin1_headers() -> None:
    utf8 = parse_message(mail(b"Subject: caf\xc3\xa9", b"From: J\xc3\xbcrgen <j@example.de>"))
    assert utf8.subject == "café"
    assert utf8.from_ == Address("Jürgen", "j@example.de")
    latin1 = parse_message(mail(b"Subject: caf\xe9 \x93quoted\x94"))
    assert latin1.subject == "café “quoted”"
    assert any("8-bit header" in defect for defect in latin1.defects)


def test_address_header_that_makes_the_email_package_raise() -> None:
    # policy.default raises IndexError on this To header when it is accessed.
    parsed = parse_message(mail("From: a@example.com", 'To: "M\xfcller" <m@example.de>, broken <a@'))
    assert Address("Müller", "m@example.de") in parsed.to
    assert any(defect.startswith("to:") for defect in parsed.defects)


def test_group_syntax_and_empty_groups() -> None:
    parsed = parse_message(mail("To: Team: a@example.com, b@example.com;, undisclosed-recipients:;"))
    assert [item.address for item in parsed.to] == ["a@example.com", "b@example.com"]


def test_dates_unknown_zone_and_garbage() -> None:
    unknown_zone = parse_message(mail("Date: Mon, 1 Jan 2001 10:00:00 -0000"))
    assert unknown_zone.date == datetime(2001, 1, 1, 10, 0, tzinfo=timezone.utc)
    garbage = parse_message(mail("Date: the day after tomorrow"))
    assert garbage.date is None
    assert any(defect.startswith("date:") for defect in garbage.defects)


def test_return_path_null_sender_and_loop_header_absent() -> None:
    parsed = parse_message(mail("Return-Path: <>", "From: a@example.com"))
    assert parsed.return_path == ""
    assert parsed.loop_header is None
    assert parse_message(mail("From: a@example.com")).return_path is None


# --- charsets ------------------------------------------------------------------------------


def text_mail(body: bytes, charset: str | None, cte: str = "8bit") -> bytes:
    content_type = f"text/plain; charset={charset}" if charset else "text/plain"
    return mail("From: a@example.com", f"Content-Type: {content_type}", f"Content-Transfer-Encoding: {cte}", body=body)


@pytest.mark.parametrize(
    ("body", "charset", "expected"),
    [
        ("Grüße".encode("utf-8"), "utf-8", "Grüße"),
        ("Привет".encode("koi8-r"), "koi8-r", "Привет"),
        ("Żółw".encode("iso-8859-2"), "iso-8859-2", "Żółw"),
        ("日本語".encode("shift_jis"), "shift_jis", "日本語"),
        ("日本語".encode("iso-2022-jp"), "iso-2022-jp", "日本語"),
        ("中文".encode("gb2312"), "gb2312", "中文"),
        ("한국어".encode("euc-kr"), "ks_c_5601-1987", "한국어"),
        ("Привет".encode("mac_cyrillic"), "x-mac-cyrillic", "Привет"),
        ("Hello".encode("utf-16"), "utf-16", "Hello"),
        ("a+b".encode("utf-7"), "utf-7", "a+b"),
    ],
)
def test_declared_charsets(body: bytes, charset: str, expected: str) -> None:
    parsed = parse_message(text_mail(body, charset))
    assert parsed.text == expected


def test_mislabelled_utf8_declared_but_windows_1252_sent() -> None:
    parsed = parse_message(text_mail(b"na\xefve \x93quote\x94", "utf-8"))
    assert parsed.text == "naïve “quote”"
    assert any("decoded as cp1252" in defect for defect in parsed.defects)


def test_ascii_declared_but_utf8_sent() -> None:
    assert parse_message(text_mail("Grüße".encode(), "us-ascii")).text == "Grüße"


def test_latin1_declared_reads_windows_1252_smart_quotes() -> None:
    assert parse_message(text_mail(b"\x93hi\x94 caf\xe9", "iso-8859-1")).text == "“hi” café"


def test_unknown_charset_falls_back_and_is_recorded() -> None:
    parsed = parse_message(text_mail("Grüße".encode(), "x-klingon"))
    assert parsed.text == "Grüße"
    assert any("unknown charset" in defect for defect in parsed.defects)


def test_undecodable_bytes_never_drop_text() -> None:
    # 0x81 is undefined in windows-1252 and invalid UTF-8: the last resort is latin-1.
    parsed = parse_message(text_mail(b"before \x81\xff after", "utf-8"))
    assert parsed.text.startswith("before ") and parsed.text.endswith(" after")
    assert len(parsed.text) == len("before ") + 2 + len(" after")


def test_multibyte_charset_with_one_bad_byte_keeps_the_rest() -> None:
    body = "日本語".encode("shift_jis") + b"\xff" + "テキスト".encode("shift_jis")
    text = parse_message(text_mail(body, "shift_jis")).text
    assert text.startswith("日本語") and text.endswith("テキスト")


def test_decode_bytes_order() -> None:
    assert decode_bytes("é".encode(), "utf-8") == ("é", "utf-8")
    assert decode_bytes(b"\xe9", None) == ("é", "cp1252")
    assert decode_bytes(b"\x81", None) == ("\x81", "latin-1")


def test_crlf_is_normalised_and_quoted_printable_decoded() -> None:
    parsed = parse_message(text_mail(b"caf=C3=A9 line one=\r\n continues\r\nline two\r\n", "utf-8", "quoted-printable"))
    assert parsed.text == "café line one continues\nline two\n"


# --- structure -----------------------------------------------------------------------------


def test_multipart_alternative_keeps_text_and_sanitised_html() -> None:
    message = simple_message()
    message.set_content("Plain version\n")
    message.add_alternative("<p>HTML <b>version</b></p><script>alert(1)</script>", subtype="html")
    parsed = parse_message(message.as_bytes())
    assert parsed.text == "Plain version\n"
    assert parsed.html.strip() == "<p>HTML <b>version</b></p>"


def test_html_only_mail_derives_text() -> None:
    message = simple_message()
    message.set_content("<div>Hello&nbsp;there</div><p>Second <i>para</i></p>", subtype="html")
    parsed = parse_message(message.as_bytes())
    assert parsed.text == "Hello there\n\nSecond para"
    assert parsed.new_text == "Hello there\n\nSecond para"
    assert "<p>Second <i>para</i></p>" in parsed.html


def test_inline_cid_image_is_mapped_to_its_attachment() -> None:
    message = simple_message()
    message.set_content("See the picture.\n")
    message.add_alternative('<p>See <img src="cid:logo.1@example.com"></p>', subtype="html")
    html_part = message.get_payload()[1]
    html_part.add_related(
        b"\x89PNG fake", maintype="image", subtype="png", cid="<logo.1@example.com>", filename="logo.png"
    )
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="invoice.pdf")
    parsed = parse_message(message.as_bytes())

    logo, invoice = parsed.attachments
    assert logo.filename == "logo.png" and logo.content_type == "image/png"
    assert logo.content_id == "logo.1@example.com" and logo.inline is True
    assert logo.content == b"\x89PNG fake" and logo.size == len(b"\x89PNG fake")
    assert invoice.inline is False and invoice.content_id is None
    assert 'src="cid:logo.1@example.com"' in parsed.html
    assert parsed.text == "See the picture.\n"


def test_image_with_content_id_that_the_html_does_not_use_is_not_inline() -> None:
    message = simple_message()
    message.add_attachment(b"GIF89a", maintype="image", subtype="gif", cid="<unused@example.com>")
    (image,) = parse_message(message.as_bytes()).attachments
    assert image.content_id == "unused@example.com"
    assert image.inline is False
    assert image.filename == "attachment-1.gif"


def test_attached_message_is_stored_as_eml() -> None:
    inner = simple_message(Subject="Original problem", Message_ID="<inner@example.com>")
    outer = simple_message(Subject="Fwd: Original problem")
    outer.add_attachment(inner)
    parsed = parse_message(outer.as_bytes())

    (attached,) = parsed.attachments
    assert attached.content_type == "message/rfc822"
    assert attached.filename == "attachment-1.eml"
    reparsed = parse_message(attached.content)
    assert reparsed.subject == "Original problem"
    assert reparsed.message_id == "inner@example.com"
    assert parsed.text == "It is on fire.\n"


def test_attachment_hash_and_size() -> None:
    message = simple_message()
    message.add_attachment(b"hello", maintype="application", subtype="octet-stream", filename="a.bin")
    (attachment,) = parse_message(message.as_bytes()).attachments
    assert attachment.size == 5
    assert attachment.sha256 == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"


def test_rfc2231_filename_with_charset_and_continuations() -> None:
    raw = mail(
        "From: a@example.com",
        'Content-Type: multipart/mixed; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
            "--b\r\nContent-Type: application/pdf\r\n"
            "Content-Disposition: attachment;\r\n"
            " filename*0*=utf-8''Rechnung%20M%C3%A4rz;\r\n"
            " filename*1*=%202026.pdf\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--b--\r\n"
        ),
    )
    (attachment,) = parse_message(raw).attachments
    assert attachment.filename == "Rechnung März 2026.pdf"
    assert attachment.content == b"%PDF"


def test_rfc2047_encoded_filename_in_quotes() -> None:
    raw = mail(
        "From: a@example.com",
        'Content-Type: multipart/mixed; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
            '--b\r\nContent-Type: text/plain; name="=?iso-8859-1?Q?Fr=F6sche.txt?="\r\n'
            'Content-Disposition: attachment; filename="=?iso-8859-1?Q?Fr=F6sche.txt?="\r\n\r\nquak\r\n--b--\r\n'
        ),
    )
    (attachment,) = parse_message(raw).attachments
    assert attachment.filename == "Frösche.txt"


def test_windows_path_in_filename_keeps_the_basename() -> None:
    raw = mail(
        "From: a@example.com",
        'Content-Type: multipart/mixed; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
            '--b\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename="C:\\TEMP\\nsmail.png"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n--b--\r\n"
        ),
    )
    (attachment,) = parse_message(raw).attachments
    assert attachment.filename == "nsmail.png"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\evil\\run.exe", "run.exe"),
        ("bad\x00na\x1bme\u202e.txt", "badname.txt"),
        ("...hidden", "hidden"),
        ('what?<>|:".pdf', "what______.pdf"),
        ("", "attachment-3.pdf"),
        (None, "attachment-3.pdf"),
        ("/", "attachment-3.pdf"),
    ],
)
def test_sanitize_filename(name: str | None, expected: str) -> None:
    assert sanitize_filename(name, index=3, content_type="application/pdf") == expected


def test_sanitize_filename_defaults_and_length() -> None:
    assert sanitize_filename(None, index=1, content_type="application/x-unknown-thing") == "attachment-1.bin"
    assert sanitize_filename(None, index=2, content_type="message/rfc822") == "attachment-2.eml"
    long_name = sanitize_filename("a" * 500 + ".pdf", index=1, content_type="application/pdf")
    assert len(long_name) <= 200 and long_name.endswith(".pdf")


def test_uuencoded_part_by_transfer_encoding() -> None:
    encoded = binascii.b2a_uu(b"binary data").decode("ascii")
    raw = mail(
        "From: a@example.com",
        'Content-Type: multipart/mixed; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            '--b\r\nContent-Type: application/octet-stream; name="data.bin"\r\n'
            "Content-Transfer-Encoding: x-uuencode\r\n\r\n"
            f"begin 644 data.bin\r\n{encoded}`\r\nend\r\n--b--\r\n"
        ),
    )
    (attachment,) = parse_message(raw).attachments
    assert attachment.filename == "data.bin"
    assert attachment.content == b"binary data"


def test_uuencoded_block_inside_plain_text_becomes_an_attachment() -> None:
    encoded = binascii.b2a_uu(b"hello uu world").decode("ascii")
    body = f"Here is the file:\r\n\r\nbegin 644 notes.txt\r\n{encoded}`\r\nend\r\n\r\nRegards\r\n"
    parsed = parse_message(mail("From: a@example.com", "Content-Type: text/plain", body=body))
    (attachment,) = parsed.attachments
    assert attachment.filename == "notes.txt" and attachment.content_type == "text/plain"
    assert attachment.content == b"hello uu world"
    assert "begin 644" not in parsed.text and "Regards" in parsed.text


def test_unclosed_uuencode_block_is_left_as_text() -> None:
    body = "begin 644 a.txt\r\nM86)C\r\nbegin 644 b.txt\r\nno end anywhere\r\n"
    parsed = parse_message(mail("Content-Type: text/plain", body=body))
    assert parsed.attachments == ()
    assert "begin 644 b.txt" in parsed.text


def test_first_named_inline_text_part_is_body_and_attachment() -> None:
    raw = mail(
        'Content-Type: multipart/mixed; boundary="b"',
        body=(
            '--b\r\nContent-Type: text/plain; name="note.txt"\r\nContent-Disposition: inline; filename="note.txt"\r\n\r\n'
            "Die Hasen und die Frösche\r\n--b--\r\n"
        ),
    )
    parsed = parse_message(raw)
    assert "Die Hasen" in parsed.text
    assert [item.filename for item in parsed.attachments] == ["note.txt"]


def test_truncated_base64_keeps_complete_bytes() -> None:
    encoded = base64.b64encode(b"0123456789AB").decode() + "Q"  # one stray character
    raw = mail(
        'Content-Type: multipart/mixed; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n"
            "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            f"{encoded}\r\n--b--\r\n"
        ),
    )
    (attachment,) = parse_message(raw).attachments
    assert attachment.content == b"0123456789AB"


def test_missing_semicolon_before_boundary_is_recovered() -> None:
    raw = mail(
        "From: a@example.com",
        "Content-Type: multipart/mixed",
        '\tboundary="zz"',
        body=(
            "--zz\r\nContent-Type: text/plain\r\n\r\nreal body\r\n"
            "--zz\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--zz--\r\n"
        ),
    )
    parsed = parse_message(raw)
    assert parsed.text.strip() == "real body"
    assert [item.content for item in parsed.attachments] == [b"hello"]
    assert any("boundary recovered" in defect for defect in parsed.defects)


def test_multipart_without_boundary_keeps_its_body_as_text() -> None:
    parsed = parse_message(mail("Content-Type: multipart/mixed", body="just text\r\n"))
    assert parsed.text == "just text\n"
    assert any("NoBoundaryInMultipartDefect" in defect for defect in parsed.defects)


def test_structure_defects_are_reported() -> None:
    raw = mail(
        'Content-Type: multipart/mixed; boundary="b"', body="--b\r\nContent-Type: text/plain\r\n\r\nunterminated"
    )
    parsed = parse_message(raw)
    assert parsed.text == "unterminated"
    assert any("CloseBoundaryNotFoundDefect" in defect for defect in parsed.defects)


def test_damaged_first_line_before_the_headers_is_skipped() -> None:
    raw = b"Fro :m garbage line\r\n" + mail("From: a@example.com", "Subject: still here")
    parsed = parse_message(raw)
    assert parsed.subject == "still here"
    assert any("before the first header" in defect for defect in parsed.defects)


def test_deep_nesting_is_cut_off_without_crashing() -> None:
    depth = 120
    body = "".join(
        f'--b{level}\r\nContent-Type: multipart/mixed; boundary="b{level + 1}"\r\n\r\n' for level in range(depth)
    )
    body += "--b120\r\nContent-Type: text/plain\r\n\r\ndeep\r\n"
    body += "".join(f"--b{level}--\r\n" for level in range(depth, -1, -1))
    parsed = parse_message(mail('Content-Type: multipart/mixed; boundary="b0"', body=body))
    assert any("nested deeper" in defect for defect in parsed.defects)


def test_too_large_parses_headers_only() -> None:
    message = simple_message(Message_ID="<big@example.com>")
    message.add_attachment(b"x" * 5000, maintype="application", subtype="octet-stream", filename="big.bin")
    parsed = parse_message(message.as_bytes(), max_bytes=1000)
    assert parsed.too_large is True
    assert parsed.subject == "Printer on fire"
    assert parsed.message_id == "big@example.com"
    assert parsed.text == "" and parsed.new_text == "" and parsed.html is None
    assert parsed.attachments == ()
    assert any("limit" in defect for defect in parsed.defects)


def test_too_large_without_a_header_end_does_not_crash() -> None:
    parsed = parse_message(b"Subject: x\r\n" + b"X-Junk: " + b"a" * 5000, max_bytes=100)
    assert parsed.too_large is True and parsed.subject == "x"


def test_empty_and_garbage_input() -> None:
    assert parse_message(b"").message_id_synthetic is True
    garbage = parse_message(bytes(range(256)) * 4)
    assert isinstance(garbage, ParsedMail)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "From",
                    "To",
                    "Cc",
                    "Subject",
                    "Date",
                    "Message-ID",
                    "References",
                    "Content-Type",
                    "Content-Disposition",
                    "Content-Transfer-Encoding",
                    "Return-Path",
                    "X-Other",
                ]
            ),
            st.binary(max_size=60),
        ),
        max_size=8,
    ),
    body=st.binary(max_size=300),
)
def test_never_raises_on_arbitrary_headers_and_bodies(headers: list[tuple[str, bytes]], body: bytes) -> None:
    raw = b"".join(name.encode() + b": " + value.replace(b"\n", b" ") + CRLF for name, value in headers) + CRLF + body
    parsed = parse_message(raw)
    json.dumps(parsed_to_json(parsed))


# --- machine-generated mail ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto_reply"),
        ({"Auto-Submitted": "auto-generated"}, "auto_reply"),
        ({"Auto-Submitted": "no"}, "none"),
        ({"X-Autoreply": "yes"}, "auto_reply"),
        ({"X-Autorespond": "Out of office"}, "auto_reply"),
        ({"X-Auto-Response-Suppress": "All"}, "auto_reply"),
        ({"X-Auto-Response-Suppress": "DR, OOF, AutoReply"}, "auto_reply"),
        ({"X-Auto-Response-Suppress": "DR"}, "none"),
        ({"X-MS-Exchange-Generated-Message-Source": "Mailbox Rules Agent"}, "auto_reply"),
        ({"Subject": "Automatic reply: Printer on fire"}, "auto_reply"),
        ({"Subject": "Out of Office: back on Monday"}, "auto_reply"),
        ({"Subject": "Abwesenheitsnotiz: Urlaub"}, "auto_reply"),
        ({"Precedence": "bulk"}, "bulk"),
        ({"Precedence": "junk"}, "bulk"),
        ({"Precedence": "list"}, "list"),
        ({"List-Id": "<users.lists.example.com>"}, "list"),
        ({"Return-Path": "<>"}, "bounce"),
        ({"From": "MAILER-DAEMON@mx.example.com"}, "bounce"),
        ({"From": "Mail Delivery System <postmaster@example.com>"}, "bounce"),
        # Precedence: bounce > auto_reply > bulk > list.
        ({"Return-Path": "<>", "Auto-Submitted": "auto-replied"}, "bounce"),
        ({"Auto-Submitted": "auto-replied", "Precedence": "bulk", "List-Id": "<l.example>"}, "auto_reply"),
        ({"Precedence": "bulk", "List-Id": "<l.example>"}, "bulk"),
    ],
)
def test_classification(headers: dict[str, str], expected: str) -> None:
    message = simple_message(**{name.replace("-", "_"): value for name, value in headers.items()})
    assert parse_message(message.as_bytes()).auto_generated == expected


def test_classify_is_pure_and_takes_a_header_lookup() -> None:
    values = {"list-id": "<x.example>"}
    assert classify(values.get, subject="hi", from_address="a@example.com", return_path=None) == "list"


def delivery_report(*, returned: EmailMessage | None = None, headers_only: str | None = None) -> bytes:
    report = EmailMessage()
    report["From"] = "Mail Delivery Subsystem <mailer-daemon@mx.example.com>"
    report["To"] = "support@helpdesk.example"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = "<bounce-1@mx.example.com>"
    report.set_content("Delivery to the following recipient failed permanently:\n\n  nobody@example.com\n")
    report.make_mixed()
    report.set_type("multipart/report")
    report.set_param("report-type", "delivery-status")
    status = EmailMessage()
    status.set_content(
        b"Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; nobody@example.com\n"
        b"Action: failed\nStatus: 5.1.1\n",
        maintype="text",
        subtype="plain",
    )
    report.attach(status)
    if returned is not None:
        report.add_attachment(returned)
    if headers_only is not None:
        part = EmailMessage()
        part.set_content(headers_only.encode(), maintype="text", subtype="rfc822-headers")
        report.attach(part)
    return report.as_bytes()


def test_bounce_names_the_original_from_an_attached_message() -> None:
    original = simple_message(Message_ID="<reply-77@helpdesk.example>")
    parsed = parse_message(delivery_report(returned=original))
    assert parsed.auto_generated == "bounce"
    assert parsed.bounced_message_ids == ("reply-77@helpdesk.example",)
    assert any(item.filename.endswith(".eml") for item in parsed.attachments)


def test_bounce_names_the_original_from_rfc822_headers() -> None:
    headers = "From: support@helpdesk.example\nTo: nobody@example.com\nMessage-ID: <reply-78@helpdesk.example>\n"
    parsed = parse_message(delivery_report(headers_only=headers))
    assert parsed.auto_generated == "bounce"
    assert parsed.bounced_message_ids == ("reply-78@helpdesk.example",)


def test_report_with_a_mangled_report_type_is_still_a_bounce() -> None:
    raw = mail(
        "From: Postmaster Service <service@mx.example.com>",
        'Content-Type: multipart/report; report-type=xxxxxxxx; boundary="r"',
        body=(
            "--r\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n"
            "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; x@example.com\r\nAction: failed\r\n"
            "--r\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <reply-81@helpdesk.example>\r\nSubject: hi\r\n\r\nbody\r\n"
            "--r--\r\n"
        ),
    )
    parsed = parse_message(raw)
    assert parsed.auto_generated == "bounce"
    assert parsed.bounced_message_ids == ("reply-81@helpdesk.example",)


def test_bounce_falls_back_to_its_threading_headers() -> None:
    message = simple_message(
        From="MAILER-DAEMON@mx.example.com",
        In_Reply_To="<reply-79@helpdesk.example>",
        References="<ticket-1@helpdesk.example> <reply-79@helpdesk.example>",
    )
    parsed = parse_message(message.as_bytes())
    assert parsed.auto_generated == "bounce"
    assert parsed.bounced_message_ids == ("reply-79@helpdesk.example", "ticket-1@helpdesk.example")


def test_non_bounces_name_no_bounced_message() -> None:
    message = simple_message(In_Reply_To="<reply-80@helpdesk.example>")
    assert parse_message(message.as_bytes()).bounced_message_ids == ()


# --- quotes and JSON -----------------------------------------------------------------------


def test_new_text_is_separated_from_the_quote_and_text_keeps_everything() -> None:
    message = simple_message()
    message.set_content(
        "Yes, it works now.\n\nOn Mon, 2 Mar 2026, Support <support@helpdesk.example> wrote:\n> Try again?\n"
    )
    parsed = parse_message(message.as_bytes())
    assert parsed.new_text == "Yes, it works now."
    assert "> Try again?" in parsed.text


def test_parsed_to_json_shape() -> None:
    message = simple_message(Date="Mon, 02 Mar 2026 10:15:00 +0000", Message_ID="<j@example.com>")
    message.add_attachment(b"data", maintype="application", subtype="pdf", filename="a.pdf")
    result = parsed_to_json(parse_message(message.as_bytes()), file="case.eml")

    assert list(result) == [
        "file",
        "message_id",
        "from",
        "to",
        "cc",
        "reply_to",
        "subject",
        "date",
        "in_reply_to",
        "references",
        "text",
        "html",
        "attachments",
        "auto_generated",
        "defects",
    ]
    assert result["file"] == "case.eml"
    assert result["from"] == {"name": "Ann Customer", "address": "ann.customer@example.com"}
    assert result["to"] == [{"name": "Support", "address": "support@helpdesk.example"}]
    assert result["cc"] == [] and result["reply_to"] == [] and result["references"] == []
    assert result["date"] == "2026-03-02T10:15:00+00:00"
    assert result["in_reply_to"] is None and result["html"] is None
    assert result["attachments"] == [
        {
            "filename": "a.pdf",
            "content_type": "application/pdf",
            "size": 4,
            "sha256": "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7",
            "inline": False,
            "content_id": None,
        }
    ]
    assert result["auto_generated"] == "none" and result["defects"] == []
    json.dumps(result)


def test_parsed_to_json_without_sender_or_date() -> None:
    result = parsed_to_json(parse_message(mail("Subject: x")))
    assert result["from"] is None and result["date"] is None and result["file"] is None


def test_remote_images_are_kept_only_when_asked_for() -> None:
    mail = EmailMessage()
    mail["From"] = "ann@acme.example"
    mail["Subject"] = "Logo"
    mail.set_content("see the logo")
    mail.add_alternative('<p>logo <img src="https://cdn.acme.example/logo.png" alt="logo"></p>', subtype="html")
    assert "cdn.acme.example" not in (parse_message(mail.as_bytes()).html or "")
    assert 'src="https://cdn.acme.example/logo.png"' in (
        parse_message(mail.as_bytes(), allow_remote_images=True).html or "")
