"""Bulk seeding for the benchmarks: many tickets, straight into the migrated schema.

Going through the services would take hours for a million tickets, so the rows are made here
and written with the engine's own bulk path: ``executemany`` in large transactions on SQLite,
``COPY`` (asyncpg ``copy_records_to_table``) on PostgreSQL. The schema is the real one: the
caller has already run the project's migrations, and every row is one the app could have written
(SQLite timestamps as ``str(datetime)`` in UTC like Piccolo stores them, JSON columns as JSON
text, lower-cased addresses, ``priority_rank`` matching ``priority``, primary address at
position 0). Sequences are moved past the seeded ids so the app can keep inserting.

Shape for N tickets: N/200 accounts (each with one or two domains), N/20 contacts (nine in ten
in an account, one in ten with a second address), four purchases per account, one activity per
contact, 20 agents in 4 teams (made through the services by the caller), tickets over one year
with a skewed requester distribution (a fifth of the tickets come from the busiest 1% of
contacts), tags on about 30%, 1–3 messages on about 40%.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

CHUNK = 50_000
YEAR_S = 365 * 24 * 3600

FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger", "Radia",
         "Guido", "Hedy", "Tim", "Katherine", "Donald", "Sophie", "Niklaus", "Joan", "Lynn", "Rob", "Anita",
         "Fernando", "Yukihiro", "Bjarne", "Shafi", "Leslie", "Jean", "Carol", "Hal"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen",
        "Dijkstra", "Perlman", "van Rossum", "Lamarr", "Berners-Lee", "Johnson", "Knuth", "Wilson", "Wirth",
        "Clarke", "Conway", "Pike", "Borg", "Corbato", "Matsumoto", "Stroustrup", "Goldwasser", "Lamport",
        "Sammet", "Shaw", "Abelson"]
WORDS = ["acme", "globex", "initech", "umbrella", "stark", "wayne", "tyrell", "cyberdyne", "soylent", "hooli",
         "vandelay", "wonka", "gringotts", "oscorp", "aperture", "pied", "massive", "dunder", "monarch", "nakatomi"]
SUFFIXES = ["Corporation", "Ltd", "GmbH", "Inc", "Group", "Solutions", "Health", "Logistics", "Labs", "Partners"]
TIERS = ["standard"] * 6 + ["premium"] * 3 + ["enterprise"]
CONTACT_ROLES = ["decision_maker", "buyer", "influencer", "user", "user", "user", "other"]
SUBJECTS = [
    "Cannot log in after password reset", "Invoice {n} shows the wrong VAT", "Export to CSV times out",
    "Feature request: dark mode", "Webhook deliveries failing since yesterday", "How do I add another agent seat?",
    "Refund for duplicate charge", "SLA report numbers look off", "Emails arrive with broken umlauts",
    "API token stopped working", "Need a copy of our contract", "Attachments over 10 MB are rejected",
    "Mobile app crashes on start", "Please update our billing address", "Two-factor codes not arriving",
    "Order {n} has not arrived", "Question about our plan renewal", "Search returns no results for {n}",
]
TAGS = ["billing", "login", "bug", "vip", "feature", "api", "refund", "shipping", "mobile", "export", "sso",
        "outage", "invoice", "onboarding", "security"]
CHANNELS = ["email"] * 14 + ["web"] * 3 + ["api"] + ["phone"] * 2
PRIORITIES = ["low"] * 4 + ["normal"] * 11 + ["high"] * 4 + ["urgent"]
PRIORITY_RANK = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
# Status by age: older tickets are mostly done; the last weeks hold the open work.
OLD_STATUSES = ["closed"] * 80 + ["solved"] * 12 + ["open"] * 3 + ["pending"] * 3 + ["on_hold"] * 2
RECENT_STATUSES = ["new"] * 20 + ["open"] * 35 + ["pending"] * 15 + ["on_hold"] * 5 + ["solved"] * 15 + ["closed"] * 10
RECENT_S = 21 * 24 * 3600
OPEN_ONLY_STATUSES = ["new"] * 25 + ["open"] * 50 + ["pending"] * 18 + ["on_hold"] * 7
PRODUCTS = [("HD-PRO-1Y", "Helpdesk Pro (1 year)", Decimal("1188.00")), ("HD-SEAT", "Extra agent seat", Decimal("29.00")),
            ("HD-SLA", "SLA add-on", Decimal("249.00")), ("HD-ONB", "Onboarding package", Decimal("1500.00")),
            ("HD-STOR", "Storage 100 GB", Decimal("12.50"))]
PURCHASE_STATUSES = ["paid"] * 8 + ["pending", "refunded"]
ACTIVITY_KINDS = ["call", "meeting", "email", "note", "task"]
CUSTOMER_TEXT = ("Hi team,\n\nsince this morning {issue}. Could you have a look? It is blocking our support "
                 "staff and we have a deadline this week.\n\nThanks,\n{name}")
AGENT_TEXT = ("Hi {first},\n\nthanks for the report. I have reproduced it and passed it to our engineers; "
              "I will update you as soon as I hear back.\n\nBest regards,\nSupport")
SUPPORT_ADDRESS = "support@helpdesk.example"


@dataclass
class Plan:
    tickets: int
    agent_ids: list[int]
    team_of_agent: dict[int, int]
    seed: int = 1
    message_fraction: float = 0.4
    tag_fraction: float = 0.3
    open_only: bool = False  # every ticket open (new/open/pending/on_hold), created in the last weeks
    end: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1))

    @property
    def accounts(self) -> int:
        return max(self.tickets // 200, 5)

    @property
    def contacts(self) -> int:
        return max(self.tickets // 20, 20)

    @property
    def heavy_contacts(self) -> int:
        return max(self.contacts // 100, 1)

    @property
    def start_ts(self) -> float:
        return self.end.timestamp() - YEAR_S


@dataclass
class Seeded:
    """What the benchmark needs to know about the data it seeded."""

    contacts: int
    heavy_contacts: int  # contact ids 1..heavy_contacts are the busiest requesters
    accounts: int
    rows: dict[str, int]
    seconds: float


# ---------------------------------------------------------------- row generators


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class _Rows:
    """Row generators; every table is a (name, columns, timestamp column indexes, rows) tuple."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        rng = random.Random(plan.seed)
        self.rng = rng
        # The contact → account map and the contacts' primary addresses are needed by the tickets.
        self.account_domains: list[list[str]] = []
        for account_id in range(1, plan.accounts + 1):
            word = WORDS[account_id % len(WORDS)]
            domains = [f"{word}-{account_id}.example"]
            if rng.random() < 0.1:
                domains.append(f"{word}-{account_id}-mail.example")
            self.account_domains.append(domains)
        self.contact_account: list[int | None] = [None]  # index 0 unused
        self.contact_name: list[str] = [""]
        self.contact_address: list[str] = [""]
        for contact_id in range(1, plan.contacts + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            account = rng.randint(1, plan.accounts) if rng.random() < 0.9 else None
            if account:
                domain = self.account_domains[account - 1][0]
            else:
                domain = rng.choice(["mail.example", "post.example", "inbox.example"])
            local = f"{first}.{last}".lower().replace(" ", "")
            self.contact_account.append(account)
            self.contact_name.append(f"{first} {last}")
            self.contact_address.append(f"{local}.{contact_id}@{domain}")

    def accounts(self) -> Iterator[tuple]:
        rng, plan = self.rng, self.plan
        for account_id in range(1, plan.accounts + 1):
            created = _dt(plan.start_ts - rng.random() * 2 * YEAR_S)
            word = WORDS[account_id % len(WORDS)]
            name = f"{word.capitalize()} {rng.choice(SUFFIXES)} {account_id}"
            custom = json.dumps({"region": rng.choice(["emea", "amer", "apac"])})
            yield (account_id, name, rng.choice(TIERS), custom, created, created)

    def account_domain_rows(self) -> Iterator[tuple]:
        row_id = 0
        for account_id, domains in enumerate(self.account_domains, start=1):
            for domain in domains:
                row_id += 1
                yield (row_id, account_id, domain)

    def contacts(self) -> Iterator[tuple]:
        rng, plan = self.rng, self.plan
        for contact_id in range(1, plan.contacts + 1):
            created = _dt(plan.start_ts - rng.random() * YEAR_S)
            phone = f"+49 30 {rng.randint(1000000, 9999999)}" if rng.random() < 0.5 else ""
            yield (contact_id, self.contact_name[contact_id], phone, self.contact_account[contact_id],
                   rng.choice(CONTACT_ROLES), "{}", created, created)

    def contact_emails(self) -> Iterator[tuple]:
        rng = self.rng
        row_id = 0
        for contact_id in range(1, self.plan.contacts + 1):
            row_id += 1
            yield (row_id, contact_id, self.contact_address[contact_id], 0)
            if rng.random() < 0.1:
                row_id += 1
                local = self.contact_address[contact_id].split("@")[0]
                yield (row_id, contact_id, f"{local}@private.example", 1)

    def purchases(self) -> Iterator[tuple]:
        rng, plan = self.rng, self.plan
        contacts_of: dict[int, list[int]] = {}
        for contact_id in range(1, plan.contacts + 1):
            account = self.contact_account[contact_id]
            if account:
                contacts_of.setdefault(account, []).append(contact_id)
        row_id = 0
        for account_id in range(1, plan.accounts + 1):
            for _ in range(4):
                row_id += 1
                sku, product, price = rng.choice(PRODUCTS)
                quantity = rng.randint(1, 5)
                members = contacts_of.get(account_id)
                contact = rng.choice(members) if members and rng.random() < 0.7 else None
                yield (row_id, account_id, contact, f"SO-{100000 + row_id}", sku, product, quantity,
                       price * quantity, "EUR", _dt(plan.start_ts + rng.random() * YEAR_S), rng.choice(PURCHASE_STATUSES))

    def activities(self) -> Iterator[tuple]:
        rng, plan = self.rng, self.plan
        for activity_id in range(1, plan.contacts + 1):
            contact = rng.randint(1, plan.contacts)
            account = self.contact_account[contact]
            kind = rng.choice(ACTIVITY_KINDS)
            occurred = _dt(plan.start_ts + rng.random() * YEAR_S)
            author = rng.choice(plan.agent_ids)
            due = occurred + timedelta(days=3) if kind == "task" else None
            yield (activity_id, kind, f"{kind.capitalize()} with {self.contact_name[contact]}", "Discussed the renewal.",
                   account, contact, None, author, author if kind == "task" else None, due, kind != "task" or rng.random() < 0.5,
                   occurred, occurred, occurred)

    def tickets(self, tags_out: list[tuple], messages_out: list[tuple],
                changes_out: list[tuple]) -> Iterator[list[tuple]]:
        """Tickets in chunks; each chunk also fills ``tags_out``, ``messages_out`` and ``changes_out``
        (status changes) for its tickets."""
        rng, plan = self.rng, self.plan
        n, end_ts = plan.tickets, plan.end.timestamp()
        span = RECENT_S if plan.open_only else YEAR_S
        start = end_ts - span
        agents = plan.agent_ids
        tag_id = message_id = change_id = 0
        chunk: list[tuple] = []
        for ticket_id in range(1, n + 1):
            created_ts = start + (ticket_id - 1 + rng.random()) * span / n
            age = end_ts - created_ts
            if plan.open_only:
                status = rng.choice(OPEN_ONLY_STATUSES)
            else:
                status = rng.choice(RECENT_STATUSES if age < RECENT_S else OLD_STATUSES)
            if status in ("solved", "closed"):
                updated_ts = min(created_ts + rng.uniform(600, 10 * 86400), end_ts)
            else:
                updated_ts = created_ts + rng.random() * min(age, 14 * 86400)
            if status == "new":
                updated_ts = created_ts
            first_response = _dt(created_ts + rng.uniform(300, min(age, 86400))) if status != "new" else None
            solved = _dt(updated_ts) if status in ("solved", "closed") else None
            if rng.random() < 0.02:
                requester = account = None
            else:
                if rng.random() < 0.2:
                    requester = rng.randint(1, plan.heavy_contacts)
                else:
                    requester = rng.randint(1, plan.contacts)
                account = self.contact_account[requester]
            assignee = rng.choice(agents) if status != "new" or rng.random() < 0.3 else None
            team = plan.team_of_agent.get(assignee) if assignee else None
            priority = rng.choice(PRIORITIES)
            subject = rng.choice(SUBJECTS).format(n=rng.randint(1000, 99999))
            created, updated = _dt(created_ts), _dt(updated_ts)
            chunk.append((ticket_id, subject, status, priority, PRIORITY_RANK[priority], rng.choice(CHANNELS),
                          requester, account, assignee, team, "{}", created, updated, first_response, solved,
                          rng.randint(1, 6)))
            if status != "new":
                change_id += 1
                changes_out.append((change_id, ticket_id, status, updated))
            if rng.random() < plan.tag_fraction:
                for tag in sorted(rng.sample(TAGS, k=rng.randint(1, 2))):
                    tag_id += 1
                    tags_out.append((tag_id, ticket_id, tag))
            if requester is not None and rng.random() < plan.message_fraction:
                name, address = self.contact_name[requester], self.contact_address[requester]
                for position in range(rng.randint(1, 3)):
                    message_id += 1
                    at = _dt(created_ts + (updated_ts - created_ts) * position / 3)
                    if position % 2 == 0:
                        messages_out.append((
                            message_id, ticket_id, "customer", None, requester, name, address,
                            json.dumps([SUPPORT_ADDRESS]), "[]", subject, f"<m{message_id}@{address.split('@')[1]}>",
                            None, "[]", CUSTOMER_TEXT.format(issue=subject.lower(), name=name), None, at, None, None,
                            "new_ticket" if position == 0 else "in_reply_to", "", None,
                        ))
                    else:
                        messages_out.append((
                            message_id, ticket_id, "reply", assignee or agents[0], None, "Support", SUPPORT_ADDRESS,
                            json.dumps([address]), "[]", f"Re: {subject}", f"<r{message_id}@helpdesk.invalid>",
                            None, "[]", AGENT_TEXT.format(first=name.split()[0]), None, at, "sent", None, "", "", at,
                        ))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


COLUMNS = {
    "account": ("id", "name", "tier", "custom_fields", "created_at", "updated_at"),
    "account_domain": ("id", "account", "domain"),
    "contact": ("id", "name", "phone", "account", "role", "custom_fields", "created_at", "updated_at"),
    "contact_email": ("id", "contact", "address", "position"),
    "purchase": ("id", "account", "contact", "order_number", "sku", "product", "quantity", "amount", "currency",
                 "ordered_at", "status"),
    "activity": ("id", "kind", "subject", "body", "account", "contact", "ticket", "author", "assignee", "due_at",
                 "done", "occurred_at", "created_at", "updated_at"),
    "ticket": ("id", "subject", "status", "priority", "priority_rank", "channel", "requester", "account", "assignee",
               "team", "custom_fields", "created_at", "updated_at", "first_response_at", "solved_at", "version"),
    "ticket_tag": ("id", "ticket", "tag"),
    "message": ("id", "ticket", "kind", "author_agent", "author_contact", "from_name", "from_address", "to_addresses",
                "cc_addresses", "subject", "message_id", "in_reply_to", "references", "text_body", "html_body",
                "created_at", "delivery_state", "delivery_error", "thread_reason", "thread_ref", "sent_at"),
    "ticket_status_change": ("id", "ticket", "status", "changed_at"),
}


def _batches(plan: Plan) -> Iterator[tuple[str, list[tuple]]]:
    rows = _Rows(plan)
    for table, generator in (("account", rows.accounts), ("account_domain", rows.account_domain_rows),
                             ("contact", rows.contacts), ("contact_email", rows.contact_emails),
                             ("purchase", rows.purchases), ("activity", rows.activities)):
        batch: list[tuple] = []
        for row in generator():
            batch.append(row)
            if len(batch) >= CHUNK:
                yield table, batch
                batch = []
        if batch:
            yield table, batch
    tags: list[tuple] = []
    messages: list[tuple] = []
    changes: list[tuple] = []
    for chunk in rows.tickets(tags, messages, changes):
        yield "ticket", chunk
        # The generator keeps appending to the lists it was given: hand out copies, then empty them.
        for table, extra in (("ticket_tag", tags), ("message", messages), ("ticket_status_change", changes)):
            if extra:
                yield table, list(extra)
                extra.clear()


def _progress(log: Callable[[str], None], counts: dict[str, int], started: float) -> None:
    log(f"  seeded {counts.get('ticket', 0):,} tickets ({time.monotonic() - started:.0f} s)")


# ---------------------------------------------------------------- SQLite


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # Piccolo's adapter: aware datetimes are stored as str() in UTC.
        return str(value.astimezone(UTC))
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bool):
        return int(value)
    return value


def seed_sqlite(path: str, plan: Plan, log: Callable[[str], None]) -> Seeded:
    started = time.monotonic()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-1000000")  # 1 GB while loading
    connection.execute("PRAGMA temp_store=MEMORY")
    counts: dict[str, int] = {}
    try:
        for table, batch in _batches(plan):
            columns = COLUMNS[table]
            names = ", ".join(f'"{column}"' for column in columns)
            sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
            connection.execute("BEGIN")
            connection.executemany(sql, ([_sqlite_value(v) for v in row] for row in batch))
            connection.execute("COMMIT")
            counts[table] = counts.get(table, 0) + len(batch)
            if table == "ticket" and counts["ticket"] % 200_000 == 0:
                _progress(log, counts, started)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return Seeded(plan.contacts, plan.heavy_contacts, plan.accounts, counts, time.monotonic() - started)


# ---------------------------------------------------------------- PostgreSQL


async def seed_postgres(dsn: str, plan: Plan, log: Callable[[str], None]) -> Seeded:
    import asyncpg

    started = time.monotonic()
    connection = await asyncpg.connect(dsn)
    counts: dict[str, int] = {}
    try:
        # Types of the JSON columns decide what COPY wants: text for json/jsonb is fine as str.
        for table, batch in _batches(plan):
            await connection.copy_records_to_table(table, records=batch, columns=list(COLUMNS[table]))
            counts[table] = counts.get(table, 0) + len(batch)
            if table == "ticket" and counts["ticket"] % 200_000 == 0:
                _progress(log, counts, started)
        for table in COLUMNS:
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM \"{table}\"), false)"
            )
        log("  VACUUM ANALYZE (autovacuum would do this shortly after a bulk load)")
        for table in COLUMNS:
            await connection.execute(f'VACUUM ANALYZE "{table}"')
    finally:
        await connection.close()
    return Seeded(plan.contacts, plan.heavy_contacts, plan.accounts, counts, time.monotonic() - started)
