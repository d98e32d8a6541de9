"""Build the small, realistic "production" SQLite database behind ``sanitizer demo``.

The demo must show the pipeline on data that looks like the real thing: a self-referencing
table, foreign keys several levels deep, a UNIQUE e-mail column, NULLs, dates stored as ISO
text, a mix of locales, and free-text ticket bodies that quote the customer's own name,
e-mail and phone number (the case a column-by-column scrubber most easily misses).

Everything derives from ``seed``: one local ``Faker`` instance seeded with
``seed_instance`` (never the global Faker seed) and one local ``random.Random``, and no
"now"-relative dates, so the same seed always yields byte-identical table contents.

Schema choices:

* ``orders.amount`` is declared ``NUMERIC(10,2)`` and stored as REAL rounded to cents.
  SQLite's NUMERIC affinity turns a decimal text such as ``'12.50'`` into REAL anyway, so
  "text-decimal" would only survive with a TEXT column, which would hide the numeric type
  from schema reflection.  Amounts are generated as integer cents; a double holds any
  value below 10**8 to the cent, and a CHECK enforces two decimals.  (Whole amounts such as
  12.0 come back as INTEGER 12: NUMERIC affinity stores lossless integers that way.)
* Timestamps are naive UTC ``'YYYY-MM-DD HH:MM:SS'`` (ISO 8601 with a space, the form
  SQLite's date functions and SQLAlchemy's SQLite DATETIME type both read); dates are
  ``'YYYY-MM-DD'``.
* CHECK constraints only constrain columns the demo rules keep (status, amounts, points,
  country codes), so a staging copy of the schema still accepts sanitized values such as
  a hashed SSN.
"""

from __future__ import annotations

import random
import sqlite3
import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path

from faker import Faker

__all__ = ["SCHEMA", "TABLES", "build_prod_db"]

TABLES = ("employees", "customers", "addresses", "orders", "support_tickets")

SCHEMA = """
CREATE TABLE employees (
    id          INTEGER PRIMARY KEY,
    first_name  VARCHAR(60) NOT NULL,
    last_name   VARCHAR(60) NOT NULL,
    email       VARCHAR(120) NOT NULL UNIQUE,
    manager_id  INTEGER REFERENCES employees(id),
    CHECK (manager_id IS NULL OR manager_id <> id)
);
CREATE TABLE customers (
    id                  INTEGER PRIMARY KEY,
    first_name          VARCHAR(60) NOT NULL,
    last_name           VARCHAR(60) NOT NULL,
    email               VARCHAR(120) NOT NULL UNIQUE CHECK (email LIKE '%_@_%'),
    phone               VARCHAR(40),
    ssn                 VARCHAR(11),
    birth_date          DATE,
    created_at          TIMESTAMP NOT NULL,
    account_manager_id  INTEGER REFERENCES employees(id),
    loyalty_points      INTEGER NOT NULL DEFAULT 0 CHECK (loyalty_points >= 0)
);
CREATE TABLE addresses (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    street        VARCHAR(120) NOT NULL,
    city          VARCHAR(80) NOT NULL,
    postal_code   VARCHAR(12) NOT NULL,
    country_code  CHAR(2) NOT NULL CHECK (length(country_code) = 2 AND country_code = upper(country_code))
);
CREATE TABLE orders (
    id                   INTEGER PRIMARY KEY,
    customer_id          INTEGER NOT NULL REFERENCES customers(id),
    amount               NUMERIC(10,2) NOT NULL CHECK (amount >= 0 AND amount = round(amount, 2)),
    status               VARCHAR(10) NOT NULL CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')),
    created_at           TIMESTAMP NOT NULL,
    shipping_address_id  INTEGER REFERENCES addresses(id)
);
CREATE TABLE support_tickets (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    subject      VARCHAR(200) NOT NULL,
    body         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX ix_addresses_customer ON addresses(customer_id);
CREATE INDEX ix_orders_customer ON orders(customer_id);
CREATE INDEX ix_tickets_customer ON support_tickets(customer_id);
"""

# Fixed window instead of "now": keeps the output independent of the day it is built.
_START = datetime(2019, 1, 1)
_END = datetime(2026, 10, 31, 23, 59, 59)
# locale -> (weight, ISO country code); most customers are US, a few European.
_LOCALES = {"en_US": (85, "US"), "de_DE": (10, "DE"), "fr_FR": (5, "FR")}
_STATUSES = (("new", 10), ("paid", 25), ("shipped", 55), ("cancelled", 10))
_GRIPES = (
    "The parcel arrived damaged.",
    "I was charged twice for the same order.",
    "The tracking link does not work.",
    "I would like to return one of the items.",
    "The invoice shows the wrong amount.",
    "I still have not received a confirmation e-mail.",
    "Your website logs me out every few minutes.",
)
# Subjects never contain personal data (only order numbers), so the rules may keep them.
_SUBJECTS_ORDER = ("Where is my order #{o}?", "Refund for order #{o}", "Invoice question, order #{o}")
_SUBJECTS_PLAIN = ("Cannot log in", "Change of address", "Delete my account", "Loyalty points missing")
# Bodies: some quote the customer's PII verbatim, others are plain prose.
_BODIES = (
    "Hi, this is {name}. {gripe} Please call me on {phone} or mail {email}.",
    "Hello. {gripe} You can reach me at {email}. Thanks, {first}",
    "Dear support team, {gripe} My number is {phone}. Kind regards, {name}",
    "{gripe} {para}",
    "{para}",
)


def _ts(moment: datetime) -> str:
    """Render a timestamp as ISO 8601 text with a space separator, second precision."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _between(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    """Uniform random moment in [lo, hi], to the second."""
    return lo + timedelta(seconds=rng.randint(0, max(0, int((hi - lo).total_seconds()))))


def _slug(text: str) -> str:
    """ASCII-only, lower-case form of a name for an e-mail local part (Müller -> muller)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def _unique_email(rng: random.Random, taken: set[str], first: str, last: str, domain: str) -> str:
    """Name-based address, deterministically suffixed with digits until it is unused."""
    local = rng.choice((f"{_slug(first)}.{_slug(last)}", f"{_slug(first)[:1]}{_slug(last)}"))
    email = f"{local}@{domain}"
    while email in taken:
        email = f"{local}{rng.randint(1, 999)}@{domain}"
    taken.add(email)
    return email


def _employees(fake: Faker, rng: random.Random, count: int) -> list[tuple]:
    """Staff tree: id 1 has no manager, everyone else reports to an earlier employee."""
    en, taken, rows = fake["en_US"], set(), []
    for emp_id in range(1, count + 1):
        first, last = en.first_name(), en.last_name()
        manager = None if emp_id == 1 else rng.randint(1, min(emp_id - 1, max(1, emp_id // 3)))
        rows.append((emp_id, first, last, _unique_email(rng, taken, first, last, "shop.example"), manager))
    return rows


def build_prod_db(path: Path, *, seed: int = 20261126, customers: int = 1000) -> dict[str, int]:
    """(Re)create the demo production database at ``path``; return row counts per table."""
    path = Path(path)
    path.unlink(missing_ok=True)
    fake = Faker(list(_LOCALES))
    fake.seed_instance(seed)
    rng = random.Random(seed)
    locales, weights = list(_LOCALES), [w for w, _ in _LOCALES.values()]

    employees = _employees(fake, rng, 30)
    staff_ids = [row[0] for row in employees]
    cust_rows: list[tuple] = []
    addr_rows: list[tuple] = []
    order_rows: list[tuple] = []
    ticket_rows: list[tuple] = []
    taken: set[str] = set()
    for cid in range(1, customers + 1):
        loc = rng.choices(locales, weights)[0]
        fk, country = fake[loc], _LOCALES[loc][1]
        first, last = fk.first_name(), fk.last_name()
        email = _unique_email(rng, taken, first, last, fk.free_email_domain())
        phone = fk.phone_number() if rng.random() < 0.9 else None
        ssn = fake["en_US"].ssn() if country == "US" else None  # only US customers have an SSN
        birth = fk.date_between_dates(date(1940, 1, 1), date(2006, 12, 31)).isoformat()
        joined = _between(rng, _START, _END - timedelta(days=30))
        manager = rng.choice(staff_ids) if rng.random() < 0.7 else None
        cust_rows.append(
            (cid, first, last, email, phone, ssn, birth, _ts(joined), manager, rng.randint(0, 5000))
        )

        addr_ids = []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            addr_ids.append(len(addr_rows) + 1)
            addr_rows.append((addr_ids[-1], cid, fk.street_address(), fk.city(), fk.postcode(), country))

        order_ids, last_order = [], joined
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4, 5, 6))):
            placed = _between(rng, joined, _END)
            status = rng.choices([s for s, _ in _STATUSES], [w for _, w in _STATUSES])[0]
            ship_to = None if status == "new" else rng.choice(addr_ids)
            order_ids.append(len(order_rows) + 1)
            amount = rng.randint(499, 49999) / 100  # integer cents -> exact 2-decimal value
            order_rows.append((order_ids[-1], cid, amount, status, _ts(placed), ship_to))
            last_order = max(last_order, placed)

        for _ in range(rng.choice((0, 0, 0, 0, 1, 1, 2))):
            if order_ids and rng.random() < 0.6:
                subject = rng.choice(_SUBJECTS_ORDER).format(o=rng.choice(order_ids))
            else:
                subject = rng.choice(_SUBJECTS_PLAIN)
            templates = _BODIES if phone else [b for b in _BODIES if "{phone}" not in b]
            body = rng.choice(templates).format(
                name=f"{first} {last}",
                first=first,
                email=email,
                phone=phone,
                gripe=rng.choice(_GRIPES),
                para=fk.paragraph(nb_sentences=3),
            )
            opened = _ts(_between(rng, last_order, _END))
            ticket_rows.append((len(ticket_rows) + 1, cid, subject, body, opened))

    data = {
        "employees": employees,
        "customers": cust_rows,
        "addresses": addr_rows,
        "orders": order_rows,
        "support_tickets": ticket_rows,
    }
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        with conn:
            conn.executescript(SCHEMA)
        with conn:  # one transaction: fast, and all-or-nothing
            for table in TABLES:
                if data[table]:
                    marks = ", ".join("?" * len(data[table][0]))
                    conn.executemany(f"INSERT INTO {table} VALUES ({marks})", data[table])
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
    finally:
        conn.close()
