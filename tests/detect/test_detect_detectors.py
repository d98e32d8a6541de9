"""Unit tests per detector: checksums, shapes, name hints in several languages, and decoys that must not match."""

from __future__ import annotations

import random
import string
import uuid

import pyarrow as pa
import pytest
from faker import Faker

from sanitizer.detect import best_entity, detectors, scan_column
from sanitizer.detect.base import normalize_name
from sanitizer.detect.country.us.ssn import ssn_ok
from sanitizer.detect.generic.finance import known_issuer, luhn_ok
from sanitizer.schema.model import ColumnInfo

REG = detectors()
TEXT = pa.string()


def column(name: str = "c1", arrow_type: pa.DataType = TEXT) -> ColumnInfo:
    return ColumnInfo(table="t", name=name, type_name=str(arrow_type), arrow_type=arrow_type)


def entity_of(values: list, name: str = "c1", arrow_type: pa.DataType = TEXT) -> str:
    best = best_entity(scan_column(column(name, arrow_type), pa.array(values, type=arrow_type)))
    return best.entity if best else "none"


def faker_values(locale: str, method: str, n: int = 300, seed: int = 1) -> list:
    fake = Faker(locale)
    fake.seed_instance(seed)
    return [getattr(fake, method)() for _ in range(n)]


# ---------------------------------------------------------------- checksums


@pytest.mark.parametrize("number", ["4111111111111111", "5555555555554444", "378282246310005", "6011000990139424",
                                    "2221000000000009", "2720999999999996", "3530111333300000"])
def test_luhn_and_issuer_accept_real_card_numbers(number):
    assert luhn_ok(number) and known_issuer(number)


def test_mastercard_2_series_is_a_card_and_its_edges_are_checked():
    card = REG.get("credit_card")
    assert card.confirm("2223 0031 2200 3222")  # Mastercard 2-series test number
    assert known_issuer("2221000000000009") and known_issuer("2720999999999996")
    assert not known_issuer("2721000000000004")  # past the 2-series range
    assert not card.confirm("2223003122003223")  # Luhn digit off by one


def test_card_test_numbers_are_invalidated():
    assert REG.get("credit_card").invalidate("4111 1111 1111 1111")


@pytest.mark.parametrize("ssn,ok", [("123-45-6780", True), ("000-12-3456", False), ("666-12-3456", False),
                                    ("912-34-5678", False), ("123-00-4567", False), ("123-45-0000", False)])
def test_ssn_follows_ssa_rules(ssn, ok):
    assert ssn_ok(ssn.replace("-", "")) is ok
    assert REG.get("us_ssn").confirm(ssn) is ok


def test_ssn_known_fakes_are_invalidated():
    det = REG.get("us_ssn")
    assert det.invalidate("078-05-1120") and det.invalidate("219-09-9999") and not det.invalidate("536-22-8726")


@pytest.mark.parametrize("iban,ok", [("DE89370400440532013000", True), ("GB82 WEST 1234 5698 7654 32", True),
                                     ("DE89370400440532013001", False), ("FR7630006000011234567890188", False)])
def test_iban_mod_97(iban, ok):
    assert REG.get("iban").confirm(iban) is ok


# ---------------------------------------------------------------- columns of values, no name hint


@pytest.mark.parametrize("locale,method,entity", [
    ("en_US", "email", "email"), ("de_DE", "email", "email"), ("fr_FR", "phone_number", "phone"),
    ("it_IT", "phone_number", "phone"), ("en_US", "credit_card_number", "credit_card"), ("nl_NL", "iban", "iban"),
    ("en_US", "ssn", "us_ssn"), ("en_US", "ipv4", "ip_address"), ("en_US", "ipv6", "ip_address"),
    ("en_US", "mac_address", "mac_address"), ("nl_NL", "ssn", "national_id"), ("fi_FI", "ssn", "national_id"),
    ("it_IT", "ssn", "national_id"), ("pt_BR", "cpf", "national_id"),
])
def test_tier_a_values_are_found_without_a_name_hint(locale, method, entity):
    assert entity_of(faker_values(locale, method)) == entity


@pytest.mark.parametrize("locale", ["en_US", "de_DE", "es_ES", "pl_PL", "ja_JP", "nl_NL", "sv_SE", "tr_TR"])
def test_names_in_several_locales(locale):
    assert entity_of(faker_values(locale, "first_name")) == "first_name"
    assert entity_of(faker_values(locale, "last_name")) == "last_name"
    assert entity_of(faker_values(locale, "name")) == "full_name"


@pytest.mark.parametrize("locale", ["en_US", "de_DE", "fr_FR", "sv_SE", "no_NO", "ja_JP"])
def test_street_addresses_and_user_names(locale):
    assert entity_of(faker_values(locale, "street_address")) == "street_address"
    assert entity_of(faker_values(locale, "user_name")) == "username"


def test_quasi_identifiers_by_dictionary():
    assert entity_of(faker_values("en_US", "job")) == "job"
    assert entity_of(faker_values("en_US", "country")) == "country"
    assert entity_of(faker_values("de_DE", "city")) == "city"
    assert entity_of(faker_values("de_DE", "company")) == "organisation"


def test_free_text_mentioning_people_is_found_and_lorem_is_not():
    fake = Faker("en_US")
    fake.seed_instance(3)
    notes = [f"{fake.sentence()} Call {fake.name()} at {fake.email()}." if i % 3 == 0 else fake.sentence()
             for i in range(300)]
    assert entity_of(notes) == "free_text"
    assert entity_of([fake.paragraph() for _ in range(300)]) == "none"


# ---------------------------------------------------------------- name hints


@pytest.mark.parametrize("name,entity,values", [
    ("correo", "email", ["a@b.example"] * 3 + ["not-an-email"]),
    ("courriel", "email", ["x.y@z.example"] * 5),
    ("Telefono", "phone", ["782900030287", "876295323994", "177167004331"]),
    ("nachname", "last_name", ["Müller", "Schmidt", "Xq"]),
    ("vorname", "first_name", ["Hans", "Grete", "Xq"]),
    ("apellido", "last_name", ["García", "López", "Xq"]),
    ("password", "password", ["8cb2237d0679ca88db6464eac60da96345513964"] * 4),
    ("username", "username", ["sina.corkery", "fay.kub"]),
    ("zip_code", "postal_code", ["12345", "SW1A 1AA", "H2G 1A7"]),
])
def test_multilingual_name_hints(name, entity, values):
    assert entity_of(values, name) == entity


def test_date_of_birth_needs_hint_date_type_and_plausible_range():
    import datetime as dt

    births = [dt.date(1950 + i % 50, 1 + i % 12, 1 + i % 28) for i in range(100)]
    assert entity_of(births, "birth_date", pa.date32()) == "date_of_birth"
    assert entity_of(births, "created", pa.date32()) == "none"
    assert entity_of([dt.date(2999, 1, 1)] * 10, "dob", pa.date32()) == "none"


def test_age_and_gender_need_their_hint():
    assert entity_of(list(range(18, 90)), "age", pa.int64()) == "age"
    assert entity_of(list(range(18, 90)), "page", pa.int64()) == "none"
    assert entity_of(["M", "F", "F", "M"], "geschlecht") == "gender"
    assert entity_of(["M", "F", "F", "M"], "size") == "none"


def test_a_hinted_but_empty_column_is_still_reported():
    findings = scan_column(column("address2"), pa.array([None, "", " "], type=pa.string()))
    assert best_entity(findings).entity == "street_address"
    assert best_entity(findings).evidence.sampled == 0


def test_normalized_names_split_camel_case_digits_and_accents():
    assert normalize_name("customerEmail") == "_customer_email_"
    assert normalize_name("Address1") == "_address_1_"
    assert normalize_name("Teléfono") == "_telefono_"


# ---------------------------------------------------------------- decoys


def _decoys() -> dict[str, list[str]]:
    rng = random.Random(7)
    fake = Faker("en_US")
    fake.seed_instance(7)
    return {
        "sku": [f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}-{rng.randint(1000, 99999)}"
                for _ in range(300)],
        "uuid": [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(300)],
        "iso_currency": [fake.currency_code() for _ in range(300)],
        "iso_country": [fake.country_code() for _ in range(300)],
        "md5": [fake.md5() for _ in range(300)],
        "sha1": [fake.sha1() for _ in range(300)],
        "sha256": [fake.sha256() for _ in range(300)],
        "amount": [f"{rng.uniform(1, 99999):.2f}" for _ in range(300)],
        "timestamp": [fake.date_time().isoformat(" ") for _ in range(300)],
        "date": [fake.date() for _ in range(300)],
        "order_no": [str(rng.randint(10**7, 10**9)) for _ in range(300)],
        "version": [f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}" for _ in range(300)],
        "ean": [fake.ean13() for _ in range(300)],
        "lorem": [fake.sentence() for _ in range(300)],
        "product": [f"{rng.choice(['Rustic', 'Sleek'])} {rng.choice(['Steel', 'Cotton'])} "
                    f"{rng.choice(['Chair', 'Lamp'])}" for _ in range(300)],
    }


@pytest.mark.parametrize("kind", sorted(_decoys()))
def test_decoys_do_not_match(kind):
    assert entity_of(_decoys()[kind]) == "none"


def test_findings_never_carry_values():
    values = faker_values("en_US", "email", 50)
    for finding in scan_column(column("email"), pa.array(values)):
        text = repr(finding) + repr(finding.as_dict())
        assert not any(v in text for v in values)
