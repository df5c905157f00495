"""Run the shared mail corpus through the parser: zero crashes, and agreement where we can tell.

    .venv/bin/python scripts/corpus.py [--corpus DIR] [--show-disagreements]

Corpus location: --corpus, else $HELPDESK_CORPUS_DIR, else <repo>/../shared/corpus, else
/work/shared/corpus; an explicit --corpus or $HELPDESK_CORPUS_DIR that does not exist is an
error rather than a silent fallback. The corpus is read in place and never copied (several licences allow
internal testing only). Exit status: 0 no crash, 1 at least one crash, 2 no corpus.

Folders with machine-readable expectations (stalwart-mail-parser, php-mime-mail-parser,
talon) are compared field by field; the others only have to parse without a crash.
The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from helpdesk.inbox.parse import ParsedMail, parse_message, parsed_to_json, sanitize_filename  # noqa: E402
from helpdesk.inbox.quotes import split_reply  # noqa: E402
from helpdesk.sanitize import html_to_text, sanitize_html  # noqa: E402

NOT_MESSAGES = {"MANIFEST.md", "COPYING", "README.md", ".gitattributes"}


# --- finding the corpus and its files -----------------------------------------------------


def find_corpus(option: str | None) -> tuple[Path | None, list[str]]:
    """The corpus folder and where we looked. An explicit --corpus or $HELPDESK_CORPUS_DIR
    is authoritative: if it is missing we say so rather than silently read another one."""
    explicit = option or os.environ.get("HELPDESK_CORPUS_DIR")
    candidates = [explicit] if explicit else [str(REPO.parent / "shared" / "corpus"), "/work/shared/corpus"]
    for candidate in candidates:
        if Path(candidate).is_dir():
            return Path(candidate), candidates
    return None, candidates


@dataclass
class Input:
    """One thing to feed the parser: a mail (bytes) or a reply-parser sample (text/HTML)."""

    label: str  # path relative to the folder, plus "#n" for messages inside an mbox
    kind: str  # "mail", "reply-text" or "reply-html"
    data: bytes


def _files(root: Path, pattern: str = "**/*") -> list[Path]:
    return sorted(
        path
        for path in root.glob(pattern)
        if path.is_file() and path.name not in NOT_MESSAGES and not path.name.startswith(".")
    )


def _mbox_messages(path: Path, folder: Path) -> Iterator[Input]:
    box = mailbox.mbox(path, create=False)
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            yield Input(f"{path.relative_to(folder)}#{number}", "mail", box.get_bytes(key))
    finally:
        box.close()


def inputs_for(folder: Path) -> Iterator[Input]:
    """Which files of a folder are messages, per its MANIFEST.md."""
    name = folder.name
    if name == "stalwart-mail-parser":
        paths = [(p, "mail") for p in _files(folder, "**/*.eml")]
    elif name == "mimekit":
        for path in _files(folder / "UnitTests/TestData/mbox", "*.mbox.txt"):
            yield from _mbox_messages(path, folder)
        paths = [(p, "mail") for p in _files(folder / "UnitTests/TestData/messages")]
    elif name == "talon":
        fixtures = folder / "tests/fixtures"
        paths = [(p, "mail") for p in _files(fixtures, "**/*.eml")]
        paths += [(p, "reply-html") for p in _files(fixtures, "**/*.html")]
        # Signature samples: X_body is the input; X_sender and X_signature are expectations.
        paths += [
            (p, "reply-text") for p in _files(fixtures / "signature") if not p.name.endswith(("_sender", "_signature"))
        ]
    elif name in ("github-email-reply-parser", "crisp-email-reply-parser"):
        paths = [(p, "reply-text") for p in _files(folder, "**/*.txt")]
    elif name == "quotequail":
        paths = [(p, "reply-html") for p in _files(folder, "**/*.html")]
    else:
        # Mail folders: every file is a message except manifests and expectation data.
        paths = [(p, "mail") for p in _files(folder) if p.suffix not in (".json", ".md") and "expected" not in p.parts]
    for path, kind in paths:
        yield Input(str(path.relative_to(folder)), kind, path.read_bytes())


# --- comparisons ---------------------------------------------------------------------------


def squash(text: str | None) -> str:
    return " ".join((text or "").split())


def no_space(text: str | None) -> str:
    return "".join((text or "").split())


def same_text(expected: str, got: str) -> bool:
    """Whitespace-insensitive equality; U+FFFD in the expectation (bytes the other parser
    could not decode, where we decode windows-1252) matches any one character."""
    expected, got = squash(expected), squash(got)
    if "\ufffd" not in expected:
        return expected == got
    pattern = ".".join(re.escape(piece) for piece in expected.split("\ufffd"))
    return re.fullmatch(pattern, got, re.S) is not None


def contains_text(expected: str, got: str) -> bool:
    expected, got = squash(expected), squash(got)
    if "\ufffd" not in expected:
        return expected in got
    pattern = ".".join(re.escape(piece) for piece in expected.split("\ufffd"))
    return re.search(pattern, got, re.S) is not None


@dataclass
class Verdict:
    fields: dict[str, bool]  # field → agreed

    @property
    def agreed(self) -> bool:
        return all(self.fields.values())


class StalwartExpectations:
    """mail-parser's serde JSON: root headers and part indices for bodies and attachments."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def verdict(self, item: Input, parsed: ParsedMail) -> Verdict | None:
        path = self.folder / Path(item.label).with_suffix(".json")
        if not path.exists():
            return None
        expected = json.loads(path.read_text(encoding="utf-8"))
        parts = expected["parts"]
        headers = {
            h["name"] if isinstance(h["name"], str) else h["name"]["other"].lower(): h["value"]
            for h in parts[0]["headers"]
        }
        fields: dict[str, bool] = {}
        subject = headers.get("subject")
        if isinstance(subject, dict) and "Text" in subject:
            fields["subject"] = same_text(subject["Text"], parsed.subject)
        sender = _stalwart_first_address(headers.get("from"))
        if sender is not None:
            fields["from"] = parsed.from_ is not None and parsed.from_.address == sender.lower()
        message_id = headers.get("message_id")
        if isinstance(message_id, dict) and "Text" in message_id:
            fields["message_id"] = parsed.message_id == message_id["Text"]
        elif "message_id" not in headers:
            fields["message_id"] = parsed.message_id_synthetic
        expected_names = [_stalwart_filename(parts[index]) for index in expected["attachments"]]
        fields["attachment_count"] = len(parsed.attachments) == len(expected_names)
        # Compare names as our sanitiser would store them (no paths, no control characters).
        named = sorted(sanitize_filename(name, index=0, content_type="") for name in expected_names if name)
        if named:
            fields["attachment_names"] = named == sorted(
                a.filename for a in parsed.attachments if not a.filename.startswith("attachment-")
            )
        texts = [parts[index]["body"]["Text"] for index in expected["text_body"] if "Text" in parts[index]["body"]]
        if texts:
            fields["text"] = all(contains_text(text, parsed.text) for text in texts)
        return Verdict(fields)


def _stalwart_first_address(value) -> str | None:
    if not isinstance(value, dict) or "Address" not in value:
        return None
    address = value["Address"]
    if "List" in address:
        entries = address["List"]
    else:
        entries = [entry for group in address.get("Group", []) for entry in group.get("addresses", [])]
    for entry in entries:
        if entry.get("address"):
            return entry["address"]
    return None


def _stalwart_filename(part: dict) -> str | None:
    for header in part["headers"]:
        if header["name"] not in ("content_disposition", "content_type"):
            continue
        content_type = header["value"].get("ContentType") if isinstance(header["value"], dict) else None
        for attribute in (content_type or {}).get("attributes") or []:
            if attribute["name"] in ("filename", "name"):
                return attribute["value"]
    return None


class PhpExpectations:
    """php-mime-mail-parser's provideData(), converted to JSON."""

    def __init__(self, folder: Path) -> None:
        data = json.loads((folder / "expected/provideData.expected.json").read_text(encoding="utf-8"))
        self.cases = {case["mail"]: case for case in data["cases"]}

    def verdict(self, item: Input, parsed: ParsedMail) -> Verdict | None:
        case = self.cases.get(item.label)
        if case is None:
            return None
        fields = {
            "subject": same_text(case["subject"], parsed.subject),
            "from": [a["address"].lower() for a in case["from_addresses"]]
            == ([parsed.from_.address] if parsed.from_ else []),
            "to": [a["address"].lower() for a in case["to_addresses"]] == [a.address for a in parsed.to],
            "text": _php_body(case["text_body"], parsed.text, sanitise=False),
        }
        if _php_html_comparable(case["html_body"]):
            fields["html"] = _php_body(case["html_body"], parsed.html or "", sanitise=True)
        expected = case["attachments"]
        fields["attachment_count"] = len(expected) == len(parsed.attachments)
        if fields["attachment_count"]:
            fields["attachment_names"] = [
                sanitize_filename(a["filename"], index=index, content_type=a["content_type"])
                for index, a in enumerate(expected, start=1)
            ] == [a.filename for a in parsed.attachments]
            fields["attachment_sizes"] = [a["size_bytes"] for a in expected] == [a.size for a in parsed.attachments]
            fields["attachment_types"] = [a["content_type"] for a in expected] == [
                a.content_type for a in parsed.attachments
            ]
        return Verdict(fields)


def _php_html_comparable(rule: dict) -> bool:
    """A snippet that sanitising removes entirely (e.g. "<html>") says nothing about us."""
    return rule["mode"] == "MATCH" or bool(squash(sanitize_html(rule["substring"])))


def _php_body(rule: dict, got: str, *, sanitise: bool) -> bool:
    if rule["mode"] == "MATCH":
        expected = sanitize_html(rule["equals"]) if sanitise else rule["equals"]
        return squash(expected) == squash(got)
    substring = rule["substring"]
    if got.count(substring) == rule["count"]:
        return True
    # Our HTML is sanitised: compare with the sanitised form of the expected snippet too.
    return sanitise and squash(got).count(squash(sanitize_html(substring))) == rule["count"]


class TalonExpectations:
    """talon's reply and signature rules, restated in expected/talon-expected.json."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rules = json.loads((folder / "expected/talon-expected.json").read_text(encoding="utf-8"))

    def verdict_for_mail(self, item: Input, parsed: ParsedMail) -> Verdict | None:
        case = self.rules["standard_replies"]["cases"].get(item.label)
        if case is not None:
            return Verdict({"reply": parsed.new_text.strip() == case["expected_reply"].strip()})
        if item.label in self.rules["plain_fragments"]:
            return Verdict({"reply": bool(parsed.new_text.strip()) and "From" not in parsed.new_text})
        return None

    def verdict_for_sample(self, item: Input, reply: str) -> Verdict | None:
        case = self.rules["html_replies"]["cases"].get(item.label)
        if case is not None:
            return Verdict({"reply": no_space(reply) == no_space(case["expected_reply"])})
        relative = item.label.removeprefix("tests/fixtures/")
        signature_case = self.rules["signatures"]["cases"].get(relative)
        if signature_case is not None:
            body = item.data.decode("utf-8", "replace")
            signature = (
                (self.folder / "tests/fixtures" / signature_case["expected_signature_file"])
                .read_text(encoding="utf-8", errors="replace")
                .strip()
            )
            expected_rest = body.strip()[: len(body.strip()) - len(signature)].strip() if signature else body.strip()
            return Verdict({"signature": reply.strip() == expected_rest})
        return None


# --- running -------------------------------------------------------------------------------


@dataclass
class FolderResult:
    name: str
    files: int = 0
    parsed: int = 0
    crashes: list[str] = field(default_factory=list)
    compared: int = 0
    agreed: int = 0
    field_counts: dict[str, list[int]] = field(default_factory=dict)  # field → [agreed, compared]
    disagreements: list[str] = field(default_factory=list)

    def record(self, label: str, verdict: Verdict | None) -> None:
        if verdict is None or not verdict.fields:
            return
        self.compared += 1
        self.agreed += verdict.agreed
        for name, ok in verdict.fields.items():
            counts = self.field_counts.setdefault(name, [0, 0])
            counts[0] += ok
            counts[1] += 1
        if not verdict.agreed:
            self.disagreements.append(f"{label}: " + ", ".join(k for k, ok in verdict.fields.items() if not ok))


def run_folder(folder: Path, timing: dict[str, float]) -> FolderResult:
    result = FolderResult(folder.name)
    mail_check: Callable[[Input, ParsedMail], Verdict | None] | None = None
    sample_check: Callable[[Input, str], Verdict | None] | None = None
    if folder.name == "stalwart-mail-parser":
        mail_check = StalwartExpectations(folder).verdict
    elif folder.name == "php-mime-mail-parser":
        mail_check = PhpExpectations(folder).verdict
    elif folder.name == "talon":
        talon = TalonExpectations(folder)
        mail_check, sample_check = talon.verdict_for_mail, talon.verdict_for_sample
    seen_files: set[str] = set()
    for item in inputs_for(folder):
        seen_files.add(item.label.split("#", 1)[0])
        started = time.perf_counter()
        try:
            if item.kind == "mail":
                parsed = parse_message(item.data)
                json.dumps(parsed_to_json(parsed, file=item.label))
                outcome: ParsedMail | str = parsed
            else:
                text = item.data.decode("utf-8", "replace")
                if item.kind == "reply-html":
                    sanitize_html(text)
                    text = html_to_text(text)
                outcome = split_reply(text)
        except Exception:  # the point of this tool: report every crash, keep going
            result.crashes.append(
                f"{folder.name}/{item.label}: {traceback.format_exc(limit=3).strip().splitlines()[-1]}"
            )
            continue
        finally:
            elapsed = time.perf_counter() - started
            timing[item.kind] = timing.get(item.kind, 0.0) + elapsed
            timing[item.kind + ":count"] = timing.get(item.kind + ":count", 0) + 1
        result.parsed += 1
        if isinstance(outcome, ParsedMail):
            result.record(item.label, mail_check(item, outcome) if mail_check else None)
        else:
            result.record(item.label, sample_check(item, outcome) if sample_check else None)
    result.files = len(seen_files)
    return result


def percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}" if whole else "–"


def print_table(results: list[FolderResult]) -> None:
    print("| folder | files | parsed | crashes | compared | agreed | % |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.name} | {r.files} | {r.parsed} | {len(r.crashes)} | {r.compared} | {r.agreed} | {percent(r.agreed, r.compared)} |"
        )
    total = FolderResult("total")
    for r in results:
        total.files += r.files
        total.parsed += r.parsed
        total.compared += r.compared
        total.agreed += r.agreed
    crashes = sum(len(r.crashes) for r in results)
    print(
        f"| **total** | {total.files} | {total.parsed} | {crashes} | {total.compared} | {total.agreed} | {percent(total.agreed, total.compared)} |"
    )


def print_fields(results: list[FolderResult]) -> None:
    print("\n| folder | field | agreed / compared |")
    print("|---|---|---:|")
    for r in results:
        for name, (agreed, compared) in r.field_counts.items():
            print(f"| {r.name} | {name} | {agreed} / {compared} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", help="corpus folder (default: $HELPDESK_CORPUS_DIR or ../shared/corpus)")
    parser.add_argument("--show-disagreements", action="store_true", help="list every file that disagreed")
    args = parser.parse_args(argv)

    corpus, looked_in = find_corpus(args.corpus)
    if corpus is None:
        print(
            f"corpus not found (looked in: {', '.join(looked_in)}); pass --corpus DIR or set HELPDESK_CORPUS_DIR",
            file=sys.stderr,
        )
        return 2

    timing: dict[str, float] = {}
    started = time.perf_counter()
    results = [run_folder(folder, timing) for folder in sorted(p for p in corpus.iterdir() if p.is_dir())]
    wall = time.perf_counter() - started

    print(f"corpus: {corpus}\n")
    print_table(results)
    print_fields(results)
    crashes = [crash for r in results for crash in r.crashes]
    if crashes:
        print("\ncrashes:")
        for crash in crashes:
            print(f"  {crash}")
    if args.show_disagreements:
        print("\ndisagreements:")
        for r in results:
            for line in r.disagreements:
                print(f"  {r.name}/{line}")
    mails = int(timing.get("mail:count", 0))
    mail_seconds = timing.get("mail", 0.0)
    rate = mails / mail_seconds if mail_seconds else 0.0
    print(f"\n{mails} mails parsed in {mail_seconds:.2f} s ({rate:.0f} messages/s); whole run {wall:.2f} s")
    summary = {
        "corpus": str(corpus),
        "folders": {
            r.name: {
                "files": r.files,
                "parsed": r.parsed,
                "crashes": len(r.crashes),
                "compared": r.compared,
                "agreed": r.agreed,
            }
            for r in results
        },
        "crashes": crashes,
        "mails": mails,
        "messages_per_second": round(rate, 1),
        "seconds": round(wall, 2),
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
