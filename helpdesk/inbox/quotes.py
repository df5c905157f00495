"""Separate what the sender just wrote from quoted history and signature (pure).

`split_reply` looks at lines, never at the whole text at once, so each rule sees at most a
few lines (the multi-line "On … wrote:" header) and the run stays linear. When in doubt it
keeps text: showing an old quote is harmless, hiding a new sentence is not.
"""

from __future__ import annotations

import re

# The verb of a reply header ("On <date>, <name> wrote:", "Am <date> schrieb <name>:").
_WROTE = (
    r"wrote|writes|schrieb|schreef|a\s+écrit|a\s+ecrit|écrit|escribió|escribio|ha\s+scritto|scrisse|"
    r"skrev|kirjoitti|escreveu|napisał|napisal|napsal|написал|написала|пишет|yazdı|írta|"
    r"kirjutas|rašė|写道|寫道|のメッセージ|님이\s+작성"
)
_WROTE_WORD = re.compile(rf"(?<!\w)(?:{_WROTE})(?!\w)", re.I)
_WROTE_END = re.compile(rf"(?:{_WROTE})\s*:?\s*$", re.I)
_ENDS_WITH_COLON = re.compile(r":\s*$")
# First words of a reply header: "On", its translations, or a date ("02.04.2012 14:20 …",
# "tir. 18. apr. 2017 …", "pe 20. lokakuuta …").
_HEADER_START = re.compile(
    r"^\s*(?:>\s*)*(?:(?:On|Am|Le|El|Il|Op|Em|Den|På|Dne|W\s+dniu|Dana|Pada|Vào)\b|"
    r"(?:\w{1,4}\.?,?\s+)?\d{1,4}[./\- ]|\d{4}年)",
    re.I,
)
# A header without a verb, as Yandex and others write it: a date first, an address last.
_DATED_ADDRESS_HEADER = re.compile(r"^\s*\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b.*@.*:\s*$")
_HEADER_MAX_LINES = 3
_HEADER_MAX_CHARS = 300

_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original\s+Message|Ursprüngliche\s+Nachricht|Message\s+d'origine|Mensaje\s+original|"
    r"Messaggio\s+originale|Oorspronkelijk\s+bericht|Original\s+meddelelse|Originalmeddelande|"
    r"Opprinnelig\s+melding|Alkuperäinen\s+viesti|Mensagem\s+original|Исходное\s+сообщение|"
    r"Původní\s+zpráva|Wiadomość\s+oryginalna|Originalnachricht|Oprindelig\s+besked|"
    r"Ursprungligt\s+meddelande|Originalt\s+meddelande|Oryginalna\s+wiadomość)\s*-{2,}\s*$",
    re.I,
)
_UNDERSCORE_SEPARATOR = re.compile(r"^\s*_{30,}\s*$")
_FIELD_NAMES = {
    "from": r"From|Von|De|Van|Fra|Från|Da|Od|Lähettäjä|От|Kimden|Feladó",
    "sent": r"Sent|Date|Gesendet|Datum|Envoyé(?:\s+le)?|Date\s+d'envoi|Enviado|Enviada|Fecha|Verzonden|Sendt|Skickat|"
    r"Inviato|Data|Lähetetty|Отправлено|Дата|Odesláno|Tarih|Elküldve",
    "to": r"To|An|À|A|Para|Aan|Til|Till|Vastaanottaja|Кому|Komu|Kime|Címzett",
    "subject": r"Subject|Betreff|Objet|Asunto|Assunto|Onderwerp|Emne|Ämne|Oggetto|Aihe|Тема|Předmět|Temat|Konu|Tárgy",
    "cc": r"Cc|Kopie|Copie",
}
_FIELD = re.compile(
    r"^\s*\*?(?:" + "|".join(f"(?P<{kind}>{names})" for kind, names in _FIELD_NAMES.items()) + r")\s*:\*?",
    re.I,
)
_FIELD_BLOCK_LINES = 6
_FORWARD_MARKER = re.compile(
    r"forwarded\s+message|weitergeleitete\s+nachricht|message\s+transféré|begin\s+forwarded", re.I
)
# A line that introduces the closing quote without a "wrote" word ("26.06.2014, 14:41, Bob <b@x>:").
_ATTRIBUTION = re.compile(r"(?:@|\d{1,2}:\d{2}).*:\s*$")
# What Outlook and others leave above a quoted header: "-----", "_____", "=====".
_SEPARATOR_LINE = re.compile(r"^\s*[-_=*]{3,}\s*$")
_SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
_QUOTED = re.compile(r"^\s*>")


def _is_blank(line: str) -> bool:
    return not line.strip()


def _reply_header_start(lines: list[str], index: int) -> int | None:
    """If a reply header ends on `lines[index]`, the index of its first line.

    A header ends with a colon and names the verb ("wrote", "schrieb", …) and starts like a
    date or with "On"/"Am"/"Le"…; it may wrap over up to three lines."""
    line = lines[index]
    if len(line) > _HEADER_MAX_CHARS or not (_ENDS_WITH_COLON.search(line) or _WROTE_END.search(line)):
        return None
    for back in range(_HEADER_MAX_LINES):
        start = index - back
        if start < 0 or _is_blank(lines[start]):
            break
        joined = " ".join(lines[start : index + 1])
        if len(joined) > _HEADER_MAX_CHARS:
            break
        if not _HEADER_START.match(lines[start]):
            continue
        if _WROTE_WORD.search(joined) and (_ENDS_WITH_COLON.search(joined) or _next_is_quoted(lines, index)):
            return start
        if _DATED_ADDRESS_HEADER.match(joined):
            return start
    # "<name> wrote:" without a date counts only when quoted text follows.
    return index if _WROTE_END.search(line) and _next_is_quoted(lines, index) else None


def _next_is_quoted(lines: list[str], index: int) -> bool:
    for line in lines[index + 1 : index + 4]:
        if not _is_blank(line):
            return bool(_QUOTED.match(line))
    return False


def _field_kind(line: str) -> str | None:
    match = _FIELD.match(line)
    return match.lastgroup if match else None


def _field_block_at(lines: list[str], index: int) -> bool:
    """A quoted message's header block ('From: …', 'Sent: …', 'To: …') starting here."""
    if _field_kind(lines[index]) is None:
        return False
    kinds = set()
    for line in lines[index : index + _FIELD_BLOCK_LINES]:
        if _is_blank(line):
            break
        kind = _field_kind(line)
        if kind:
            kinds.add(kind)
    if "from" not in kinds or "sent" not in kinds:
        return False
    # Keep forwarded messages: they are what the customer wants us to read.
    previous = next((line for line in reversed(lines[max(0, index - 2) : index]) if not _is_blank(line)), "")
    return not _FORWARD_MARKER.search(previous)


def _cut_index(lines: list[str], start: int) -> int | None:
    """First line at or after `start` where quoted history or the signature begins."""
    for index in range(start, len(lines)):
        line = lines[index]
        if _SIGNATURE_DELIMITER.match(line):
            return index
        if _ORIGINAL_MESSAGE.match(line) or _UNDERSCORE_SEPARATOR.match(line):
            return index
        if _field_block_at(lines, index):
            return index
        header_start = _reply_header_start(lines, index)
        if header_start is not None:
            return max(header_start, start)
    return None


def _skip_leading_quote(lines: list[str]) -> int:
    """Bottom posting: skip a quote (with its header) that opens the text, if text follows."""
    index = 0
    while index < len(lines) and _is_blank(lines[index]):
        index += 1
    first = index
    header_end = None
    for offset in range(_HEADER_MAX_LINES):
        probe = first + offset
        if probe < len(lines) and _reply_header_start(lines, probe) == first:
            header_end = probe
            break
    if header_end is not None:
        index = header_end + 1
    elif not (index < len(lines) and _QUOTED.match(lines[index])):
        return 0
    while index < len(lines) and (_QUOTED.match(lines[index]) or _is_blank(lines[index])):
        index += 1
    if header_end is None and any(_QUOTED.match(line) for line in lines[index:]):
        return 0  # quotes interleaved with answers: an inline reply, keep it whole
    return index if index < len(lines) else 0


def _drop_trailing_quote(lines: list[str]) -> list[str]:
    """Remove a '>' block (and blank lines) that closes the text, with its header line."""
    end = len(lines)
    while end and _is_blank(lines[end - 1]):
        end -= 1
    quote_start = end
    while quote_start and (_QUOTED.match(lines[quote_start - 1]) or _is_blank(lines[quote_start - 1])):
        quote_start -= 1
    if quote_start == end:
        return lines[:end]
    kept = lines[:quote_start]
    while kept and _is_blank(kept[-1]):
        kept.pop()
    if kept and kept[-1].rstrip().endswith(":"):
        last = len(kept) - 1
        header_start = _reply_header_start(kept + ["> "], last)
        if header_start is not None:
            kept = kept[:header_start]
        elif _ATTRIBUTION.search(kept[last]) and len(kept[last]) <= _HEADER_MAX_CHARS:
            kept = kept[:last]
    return kept


def split_reply(text: str) -> str:
    """The newly written part of a reply: no quoted history, no signature after '-- '."""
    if not text or not text.strip():
        return text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _skip_leading_quote(lines)
    cut = _cut_index(lines, start)
    candidate = lines[start:cut] if cut is not None else lines[start:]
    kept = _drop_trailing_quote(candidate)
    while kept and (_is_blank(kept[-1]) or _SEPARATOR_LINE.match(kept[-1])):
        kept.pop()
    new_text = "\n".join(kept).strip("\n").rstrip()
    if not new_text.strip():
        return text
    return new_text
