"""`rules suggest` verifies its draft with the run's pattern check too (issue 14.3), on real PostgreSQL.

A memo column where card numbers (Mastercard 2-series, Amex) are rare among decoy numbers looks
harmless in a sample, so a draft would keep it and the run's pattern check would then refuse it: a
"verified" draft that does not run. The suggested file must run clean on the data it came from.
"""

from __future__ import annotations

import random
from pathlib import Path

import sqlalchemy as sa
from dbs import query_rows as rows
from sqlalchemy.pool import NullPool

ROWS = 20_000
CARD_EVERY = 150


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):  # the check digit will sit to the right of these
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _payments(url: str) -> list[str]:
    rng = random.Random(14)
    cards, memos = [], []
    for i in range(1, ROWS + 1):
        if i % CARD_EVERY == 0:
            card = luhn_complete(str(rng.randint(2221, 2720)), 16, rng) if i % 2 else \
                luhn_complete(rng.choice(["34", "37"]), 15, rng)
            cards.append(card)
            memos.append(card)
        else:  # decoys: order references of the same lengths that fail Luhn, and plain words
            decoy = luhn_complete(str(rng.randint(2221, 2720)), 16, rng)
            memos.append(decoy[:-1] + str((int(decoy[-1]) + 1) % 10) if i % 3 else "paid at the counter")
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE payments (id int PRIMARY KEY, memo text, amount numeric(8, 2))")
        conn.execute(sa.text("INSERT INTO payments VALUES (:id, :memo, :amount)"),
                     [{"id": i, "memo": m, "amount": i % 500} for i, m in enumerate(memos, 1)])
    engine.dispose()
    return cards


def test_suggested_rules_run_clean_on_a_column_of_rare_card_numbers(cli, pg_server, pg_url, tmp_path: Path) -> None:
    source = pg_server.new_database("pay")
    cards = _payments(source)
    out = tmp_path / "suggested.yaml"
    suggested = cli("rules", "suggest", "--source", source, "-o", str(out))
    assert suggested.returncode == 0, suggested.stderr
    memo_rule = next(line for line in out.read_text().splitlines() if line.strip().startswith("memo:"))
    assert not memo_rule.strip().startswith("memo: keep"), memo_rule
    run = cli("run", "--source", source, "--target", pg_url, "--rules", str(out))
    assert run.returncode == 0, run.stderr + run.stdout
    assert "validation: PASS (0 findings)" in run.stdout
    staged = {memo for (memo,) in rows(pg_url, "SELECT memo FROM payments") if memo}
    assert not staged & set(cards)
