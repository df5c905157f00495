"""A reproducible mix of customer mail for the intake benchmark (bench/ingest.py).

About 80% small mails (plain text, HTML-only, or text+HTML alternatives as mail clients send
them), 15% with one 200 KB attachment, 5% replies whose In-Reply-To and References name an
earlier mail of the same run (from the same sender, so threading joins the ticket). Every mail
has its own Message-ID; senders are a few hundred addresses spread over a couple of hundred
domains, some of them free-mail. Built with ``email.message.EmailMessage``; deterministic for a
given seed, so runs on both engines see the same bytes.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

SUPPORT_ADDRESS = "support@helpdesk.example"
ATTACHMENT_BYTES = 200 * 1024

SHARE_ATTACHMENT = 0.15
SHARE_REPLY = 0.05

_FIRST = ("Anna", "Ben", "Carla", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kenji", "Lena",
          "Marco", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tamara", "Ugo", "Vera", "Wei", "Yusuf")
_LAST = ("Schmidt", "Rossi", "Novak", "García", "Okafor", "Lindqvist", "Dubois", "Kowalski", "Tanaka", "Silva",
         "Meyer", "O'Brien", "Haddad", "Jensen", "Moreau", "Costa", "Weber", "Nakamura", "Fischer", "Ivanova")
_FREEMAIL = ("gmail.com", "outlook.com", "yahoo.com", "gmx.de", "web.de", "icloud.com", "proton.me")
_WORDS = ("order", "invoice", "delivery", "account", "password", "refund", "subscription", "upgrade", "plan",
          "shipment", "tracking", "package", "warranty", "license", "login", "error", "payment", "card", "receipt",
          "address", "cancel", "export", "report", "dashboard", "integration", "api", "sync", "calendar", "team",
          "seat", "billing", "discount", "coupon", "return", "exchange", "size", "colour", "missing", "broken",
          "urgent", "please", "help", "thanks", "again", "still", "today", "yesterday", "since", "after", "before")
_SUBJECTS = ("Problem with my order {n}", "Invoice {n} looks wrong", "Cannot log in since {day}",
             "Refund for order {n}?", "Question about the {w} plan", "Delivery {n} has not arrived",
             "Export to CSV fails", "How do I change my {w}?", "Payment declined for invoice {n}",
             "Missing item in package {n}", "Upgrade to more seats", "Wrong {w} on my receipt")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the update", "yesterday")
_ATTACHMENTS = (("application/pdf", "invoice-{n}.pdf"), ("image/png", "screenshot-{n}.png"),
                ("image/jpeg", "photo-{n}.jpg"), ("application/zip", "logs-{n}.zip"))
_SIGNATURES = ("Best regards", "Kind regards", "Thanks", "Cheers", "Regards")


@dataclass(frozen=True)
class Sender:
    name: str
    address: str


@dataclass(frozen=True)
class BenchMail:
    kind: str  # text, html, alternative, attachment, reply
    message_id: str  # without angle brackets
    raw: bytes


def senders(count: int, rng: random.Random) -> list[Sender]:
    """``count`` distinct senders: about a fifth on free-mail, the rest on ~count/2 company domains."""
    company_domains = [f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}-{i}.example" for i in range(max(count // 2, 1))]
    out: list[Sender] = []
    seen: set[str] = set()
    while len(out) < count:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        domain = rng.choice(_FREEMAIL) if rng.random() < 0.2 else rng.choice(company_domains)
        local = f"{first}.{last}".lower().replace("'", "").replace("í", "i").replace("á", "a")
        address = f"{local}{rng.randrange(1000)}@{domain}"
        if address not in seen:
            seen.add(address)
            out.append(Sender(f"{first} {last}", address))
    return out


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 16))]
    return " ".join(words).capitalize() + "."


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    return [" ".join(_sentence(rng) for _ in range(rng.randint(2, 5))) for _ in range(count)]


def _html(paragraphs: list[str], sender: Sender, sign: str) -> str:
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return (f'<html><head><meta charset="utf-8"><style>p {{ margin: 0 0 1em }}</style></head>'
            f'<body><div dir="ltr">\n{body}<p>{sign},<br><b>{sender.name}</b></p></div></body></html>\n')


def _kinds(n: int, rng: random.Random) -> list[str]:
    """The exact shares, shuffled; the first mail is never a reply (it needs an earlier one)."""
    replies = round(n * SHARE_REPLY)
    attachments = round(n * SHARE_ATTACHMENT)
    small = n - replies - attachments
    kinds = ["reply"] * replies + ["attachment"] * attachments
    kinds += [rng.choices(("text", "html", "alternative"), weights=(50, 15, 35))[0] for _ in range(small)]
    rng.shuffle(kinds)
    if kinds and kinds[0] == "reply":
        swap = next(i for i, kind in enumerate(kinds) if kind != "reply")
        kinds[0], kinds[swap] = kinds[swap], kinds[0]
    return kinds


def build(n: int, *, seed: int = 1, sender_count: int = 300, start: datetime | None = None) -> list[BenchMail]:
    """``n`` mails in delivery order (replies only ever name an earlier one)."""
    rng = random.Random(seed)
    people = senders(sender_count, rng)
    start = start or datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    mails: list[BenchMail] = []
    originals: list[tuple[str, str, Sender, str]] = []  # (message id, subject, sender, first paragraph)
    for index, kind in enumerate(_kinds(n, rng)):
        when = start + timedelta(seconds=7 * index)
        message = EmailMessage(policy=policy.SMTP)
        sign = rng.choice(_SIGNATURES)
        if kind == "reply":
            original_id, original_subject, sender, quoted = rng.choice(originals)
            subject = f"Re: {original_subject}"
            message["In-Reply-To"] = f"<{original_id}>"
            message["References"] = f"<{original_id}>"
        else:
            sender = rng.choice(people)
            subject = rng.choice(_SUBJECTS).format(n=rng.randrange(10000, 99999), w=rng.choice(_WORDS),
                                                   day=rng.choice(_DAYS))
        domain = sender.address.rpartition("@")[2]
        message_id = f"{when:%Y%m%d%H%M%S}.{index}.{rng.getrandbits(48):012x}@{domain}"
        message["Message-ID"] = f"<{message_id}>"
        message["Date"] = format_datetime(when)
        message["From"] = formataddr((sender.name, sender.address))
        message["To"] = formataddr(("Example Support", SUPPORT_ADDRESS))
        if rng.random() < 0.1:
            colleague = rng.choice(people)
            message["Cc"] = formataddr((colleague.name, colleague.address))
        message["Subject"] = subject
        message["MIME-Version"] = "1.0"
        message["X-Mailer"] = rng.choice(("Thunderbird 128.4", "Apple Mail (2.3826)", "Microsoft Outlook 16.0"))

        paragraphs = _paragraphs(rng, rng.randint(1, 4))
        text = "Hello,\n\n" + "\n\n".join(paragraphs) + f"\n\n{sign},\n{sender.name}\n"
        if kind == "reply":
            quoted_block = "\n".join(f"> {line}" for line in quoted.splitlines())
            text = (f"{paragraphs[0]}\n\n{sign},\n{sender.name}\n\n"
                    f"On {format_datetime(when - timedelta(hours=2))}, {sender.name} wrote:\n{quoted_block}\n")
            message.set_content(text)
        elif kind == "text":
            message.set_content(text)
        elif kind == "html":
            message.set_content(_html(paragraphs, sender, sign), subtype="html")
        elif kind == "alternative":
            message.set_content(text)
            message.add_alternative(_html(paragraphs, sender, sign), subtype="html")
        else:  # attachment
            message.set_content(text)
            content_type, filename = rng.choice(_ATTACHMENTS)
            maintype, subtype = content_type.split("/")
            message.add_attachment(rng.randbytes(ATTACHMENT_BYTES), maintype=maintype, subtype=subtype,
                                   filename=filename.format(n=index))
        if kind != "reply":
            originals.append((message_id, subject, sender, paragraphs[0]))
        mails.append(BenchMail(kind=kind, message_id=message_id, raw=message.as_bytes()))
    return mails


def summary(mails: list[BenchMail]) -> dict[str, object]:
    kinds: dict[str, int] = {}
    for mail in mails:
        kinds[mail.kind] = kinds.get(mail.kind, 0) + 1
    total = sum(len(mail.raw) for mail in mails)
    senders = {match.group(1).lower() for mail in mails if (match := _FROM.search(mail.raw))}
    return {"kinds": kinds, "bytes": total, "senders": len(senders),
            "domains": len({address.rpartition(b"@")[2] for address in senders})}


_FROM = re.compile(rb"^From: [^\r\n]*<([^>\r\n]+)>", re.MULTILINE)
