"""Detection quality and speed: column-level recall and precision per tier, and cells scanned per second.

    .venv/bin/python benchmarks/detection.py                        # load the fixtures into temporary databases
    .venv/bin/python benchmarks/detection.py --fixture chinook=postgresql://...   # or scan databases you have
    .venv/bin/python benchmarks/detection.py --no-fixtures           # generated corpus only

(a) Hand labels (tests/labels/*.yaml) against the real Pagila, Chinook and Northwind samples on PostgreSQL.
(b) A generated corpus: Faker values in 14 locales under meaningless column names (c1, c2, ...), mixed with
    decoy columns that must not match (SKUs, UUIDs, product names, ISO codes, amounts, hashes, timestamps...).
A column counts as right when `best_entity` of its findings is its true entity (or nothing, for `none`).
Targets: recall >= 99% tier A, >= 95% tier B; precision >= 90%; >= 200,000 cells/s.
"""

from __future__ import annotations

import argparse
import os
import random
import string
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import yaml
from faker import Faker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sanitizer.detect import best_entity, by_column, detectors, lexicon, scan_column, scan_source  # noqa: E402
from sanitizer.schema.model import ColumnInfo  # noqa: E402

FIXTURES = ("pagila", "chinook", "northwind")
LOAD_SH = ROOT.parent / "shared" / "fixtures" / "load.sh"
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "pt_BR", "sv_SE", "fi_FI",
           "ja_JP", "tr_TR", "no_NO")
# Faker's national ID generator per locale, where python-stdnum can check what it makes.
NATIONAL_ID = {"en_US": "ssn", "fr_FR": "ssn", "it_IT": "ssn", "nl_NL": "ssn", "pl_PL": "ssn", "pt_BR": "cpf",
               "sv_SE": "ssn", "fi_FI": "ssn", "tr_TR": "ssn", "no_NO": "ssn", "es_ES": "nif"}
TARGETS = {"A": 0.99, "B": 0.95}


def entity_tiers() -> dict[str, str]:
    return {d.entity: d.tier for d in detectors()}


class Score:
    """Column-level confusion per tier: recall over true entities, precision over predictions."""

    def __init__(self) -> None:
        self.truth: dict[str, list[bool]] = defaultdict(list)
        self.pred: dict[str, list[bool]] = defaultdict(list)
        self.misses: list[tuple[str, str, str]] = []
        self.tiers = entity_tiers()

    def add(self, column: str, truth: str, predicted: str) -> None:
        if truth != "none":
            self.truth[self.tiers[truth]].append(predicted == truth)
        if predicted != "none":
            self.pred[self.tiers[predicted]].append(predicted == truth)
        if predicted != truth:
            self.misses.append((column, truth, predicted))

    def report(self, title: str) -> list[str]:
        lines = [f"== {title}", "tier  columns  recall   predicted  precision"]
        for tier in ("A", "B", "C"):
            t, p = self.truth[tier], self.pred[tier]
            lines.append(f"{tier:<5} {len(t):>7}  {_pct(t):>7}  {len(p):>9}  {_pct(p):>9}")
        every = [x for v in self.pred.values() for x in v]
        lines.append(f"all predictions: {len(every)}, precision {_pct(every)}")
        lines += [f"  miss: {c}: true {t}, predicted {p}" for c, t, p in self.misses]
        return lines


def _pct(xs: list[bool]) -> str:
    return f"{100 * sum(xs) / len(xs):.1f}%" if xs else "-"


# ---------------------------------------------------------------- (a) fixtures


def fixture_urls(args) -> tuple[dict[str, str], list[str]]:
    """URLs to scan, loading each fixture into a temporary database unless the caller gave a URL."""
    given = dict(item.split("=", 1) for item in args.fixture)
    created = []
    for name in FIXTURES:
        if name in given:
            continue
        db = f"bench_detect_{name}_{os.getpid()}"
        subprocess.run(["bash", str(LOAD_SH), "pg", name, db], check=True, capture_output=True)
        created.append(db)
        given[name] = args.pg_url.rsplit("/", 1)[0] + "/" + db
    return given, created


def run_fixtures(args) -> list[str]:
    from sqlalchemy.engine import make_url

    from sanitizer.source.reader import Source

    urls, created = fixture_urls(args)
    score, lines, cells, seconds = Score(), [], 0, 0.0
    try:
        for name, url in urls.items():
            labels = yaml.safe_load((ROOT / "tests" / "labels" / f"{name}.yaml").read_text())["columns"]
            with Source(make_url(url)) as source:
                start = time.perf_counter()
                findings = by_column(scan_source(source, sample=args.rows))
                seconds += time.perf_counter() - start
                for info in source.schema.tables.values():
                    for col in info.columns:
                        key = f"{info.name}.{col.name}"
                        best = best_entity(findings.get(col.qualified, []))
                        score.add(f"{name}.{key}", labels.get(key, "none"), best.entity if best else "none")
                        cells += min(args.rows, source.count(info))
    finally:
        for db in created:
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", db], check=False)
    lines += score.report("hand labels: pagila, chinook, northwind (PostgreSQL)")
    lines.append(f"end to end incl. random sampling from PostgreSQL: {cells:,} cells in {seconds:.2f} s "
                 f"= {cells / seconds:,.0f} cells/s")
    return lines


# ---------------------------------------------------------------- (b) generated corpus


def free_text(f: Faker, rng: random.Random) -> str:
    mention = rng.choice([f"Contact {f.name()} at {f.email()}.", f"Call {f.phone_number()} before noon.",
                          f"Ask {f.first_name()} {f.last_name()} about it.", "", ""])
    return f"{f.sentence(nb_words=8)} {mention}".strip()


def pii_columns(f: Faker, locale: str, rng: random.Random) -> dict[str, object]:
    """True entity -> value generator for one locale."""
    gens: dict[str, object] = {
        "email": f.email, "phone": f.phone_number, "credit_card": f.credit_card_number, "iban": f.iban,
        "ip_address": f.ipv4, "ip_address#6": f.ipv6, "mac_address": f.mac_address,
        "full_name": f.name, "first_name": f.first_name, "last_name": f.last_name,
        "street_address": f.street_address, "username": f.user_name, "free_text": lambda: free_text(f, rng),
        "password": lambda: "$2b$12$" + "".join(rng.choices(string.ascii_letters + string.digits + "./", k=53)),
        "city": f.city, "country": f.country, "job": f.job, "organisation": f.company, "postal_code": f.postcode,
    }
    if locale in NATIONAL_ID:
        gens["us_ssn" if locale == "en_US" else "national_id"] = getattr(f, NATIONAL_ID[locale])
    return gens


def decoy_columns(f: Faker, rng: random.Random) -> dict[str, object]:
    adjectives = ["Ergonomic", "Rustic", "Sleek", "Compact", "Durable", "Smart", "Vintage", "Premium"]
    materials = ["Steel", "Wooden", "Cotton", "Granite", "Plastic", "Leather", "Bamboo", "Glass"]
    things = ["Chair", "Table", "Lamp", "Keyboard", "Bottle", "Backpack", "Mug", "Shelf", "Speaker"]
    return {
        "sku": lambda: f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}-"
                       f"{rng.randint(1000, 99999)}-{rng.choice('SMLX')}",
        "uuid": lambda: str(uuid.UUID(int=rng.getrandbits(128))),
        "product": lambda: f"{rng.choice(adjectives)} {rng.choice(materials)} {rng.choice(things)}",
        "currency": f.currency_code, "language": f.language_code, "amount": lambda: f"{rng.uniform(1, 99999):.2f}",
        "md5": f.md5, "sha1": f.sha1, "sha256": f.sha256, "timestamp": lambda: f.date_time().isoformat(" "),
        "date": lambda: f.date(), "lorem": f.sentence, "paragraph": f.paragraph, "color": f.color_name,
        "file": f.file_name, "url": f.url,
        "version": lambda: f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}",
        "order_no": lambda: str(rng.randint(10**7, 10**9)), "flag": lambda: rng.choice(["Y", "N"]),
        "status": lambda: rng.choice(["pending", "shipped", "delivered", "returned"]),
        "hex_color": f.hex_color, "ean": f.ean13,
    }


def run_corpus(args) -> list[str]:
    rng = random.Random(args.seed)
    score, cells, seconds = Score(), 0, 0.0
    for locale in LOCALES:
        f = Faker(locale)
        f.seed_instance(args.seed)
        columns = [(e.split("#")[0], g) for e, g in pii_columns(f, locale, rng).items()]
        columns += [("none", g) for g in decoy_columns(f, rng).values()]
        rng.shuffle(columns)
        for i, (truth, gen) in enumerate(columns, 1):
            values = pa.array([gen() for _ in range(args.rows)], type=pa.string())
            info = ColumnInfo(table=f"corpus_{locale}", name=f"c{i}", type_name="text", arrow_type=pa.string())
            start = time.perf_counter()
            best = best_entity(scan_column(info, values))
            seconds += time.perf_counter() - start
            cells += len(values)
            score.add(f"{locale}.c{i}", truth, best.entity if best else "none")
    lines = score.report(f"generated corpus: {len(LOCALES)} locales, {args.rows} rows per column")
    lines.append(f"scan speed (in memory): {cells:,} cells in {seconds:.2f} s = {cells / seconds:,.0f} cells/s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get("SANITIZER_TEST_PG_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--fixture", action="append", default=[], metavar="NAME=URL")
    parser.add_argument("--no-fixtures", action="store_true")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    detectors()
    lexicon.warm()  # build the word lists before timing anything
    lines = [] if args.no_fixtures else run_fixtures(args)
    lines += run_corpus(args)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
