"""Values per second of each strategy on 1,000,000 values at 10% and 100% distinct (one core).

    .venv/bin/python benchmarks/strategies.py [NAME ...]

Targets (issue 3): >= 1,000,000 values/s at 10% distinct and >= 400,000 at 100% for keep, nullify,
set, hash, mask, fake, email and digits. Inputs are natural for each strategy (text, integers, dates).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from sanitizer.keys import Keyring
from sanitizer.rules import build_strategy
from sanitizer.schema.model import ColumnInfo
from sanitizer.strategies.base import Context

N = 1_000_000
TARGETED = {"keep", "nullify", "set", "hash", "mask", "fake", "email", "digits"}
ROOT = Path(__file__).resolve().parents[1]
CASES = {  # name -> (rule, kind of input)
    "keep": ("keep", "email"), "nullify": ("nullify", "email"), "set": ({"strategy": "set", "value": "x"}, "email"),
    "empty": ("empty", "email"), "hash": ("hash", "email"),
    "hash_alnum": ({"strategy": "hash", "alphabet": "alnum"}, "email"), "mask": ({"strategy": "mask", "keep_last": 4},
                                                                                 "email"),
    "fake": ({"strategy": "fake", "kind": "first_name"}, "email"),
    "fake_unique": ({"strategy": "fake", "kind": "email", "unique": True}, "email"),
    "email": ("email", "email"), "email_unique": ({"strategy": "email", "unique": True}, "email"),
    "uuid": ("uuid", "email"), "username": ("username", "email"), "company": ("company", "email"),
    "address": ("address", "email"), "person": ({"strategy": "person", "field": "full_name"}, "email"),
    "password": ("password", "email"), "choice": ({"strategy": "choice", "values": ["a", "b", "c"]}, "email"),
    "lookup": ({"strategy": "lookup", "file": str(ROOT / "rules/examples/teams.csv"), "column": "team"}, "email"),
    "regex": ({"strategy": "regex", "pattern": r"\d", "replacement": "#"}, "email"),
    "digits": ("digits", "card"), "digits_luhn": ({"strategy": "digits", "luhn": True}, "card"),
    "phone": ("phone", "phone"), "int_permute": ({"strategy": "int_permute", "max": 10**9}, "int"),
    "noise": ({"strategy": "noise", "relative": 0.1}, "int"), "round": ({"strategy": "round", "step": 100}, "int"),
    "generalize": ({"strategy": "generalize", "step": 10}, "int"),
    "date_shift": ({"strategy": "date_shift", "days": 30}, "date"), "date_of_birth": ("date_of_birth", "date"),
    "shuffle": ("shuffle", "email"), "scrub": ("scrub", "ticket"),
    "json": ({"strategy": "json", "paths": {"$.email": "email"}}, "json"),
    "array": ({"strategy": "array", "element": "hash"}, "array"),
}


def inputs(kind: str, distinct_share: float) -> tuple[pa.Array, pa.DataType]:
    ids = np.random.default_rng(1).integers(0, int(N * distinct_share), N) if distinct_share < 1 else np.arange(N)
    if kind == "int":
        return pa.array(ids + 1), pa.int64()
    if kind == "date":
        return pa.array((ids % 30000).astype(np.int32), pa.int32()).cast(pa.date32()), pa.date32()
    fmt = {"email": "user{}@example.com", "card": "4{:015d}", "phone": "+44 20 {:08d}",
           "ticket": "Ticket {} from jane{}@example.com: call me", "json": '{{"email": "u{}@x.io", "n": 1}}',
           "array": "{{a{},b}}"}[kind]
    values = [fmt.format(i, i) for i in ids.tolist()] if kind == "ticket" else [fmt.format(i) for i in ids.tolist()]
    return pa.array(values, pa.string()), pa.string()


def measure(name: str, share: float) -> float:
    rule, kind = CASES[name]
    values, arrow_type = inputs(kind, share)
    n = len(values)
    ctx = Context(Keyring("bench-key-0123456789"), ColumnInfo("t", "c", "BENCH", arrow_type),
                  {"c": values}, {})
    strategy = build_strategy(rule, f"benchmark {name}")
    strategy.apply(values[:1000], ctx)  # warm pools and caches: they are built once per process
    start = time.perf_counter()
    strategy.apply(values, ctx)
    return n / (time.perf_counter() - start)


def main(names: list[str]) -> int:
    print(f"{'strategy':<15}{'10% distinct':>15}{'100% distinct':>16}  target")
    missed = 0
    for name in names or list(CASES):
        low, high = measure(name, 0.1), measure(name, 1.0)
        target = name in TARGETED
        ok = "" if not target else ("ok" if low >= 1e6 and high >= 4e5 else "MISSED")
        missed += ok == "MISSED"
        print(f"{name:<15}{low:>15,.0f}{high:>16,.0f}  {ok}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
