"""E-mail addresses and phone numbers (tier A: both have a structure a value must satisfy)."""

from __future__ import annotations

import re

from ..base import Detector, hints
from ..registry import register


@register
class Email(Detector):
    """An e-mail address: local@domain.tld, no doubled dots, a real-looking top-level domain."""

    name = "email"
    entity = "email"
    tier = "A"
    name_hints = hints("e_?mail", "mail_?addr", "correo", "courriel", "e_?post", "posta_elettronica", "mailadres")
    negative_hints = hints(r"\w*(verified|confirmed|opt_?in|sent|bounced?|count|enabled)_")
    patterns = (r"^[^\s@]+@[^\s@]+\.[^\s@.0-9]{2,}$",)  # loose for RE2 speed; confirm() is strict
    gate = "at"
    min_share = 0.7
    min_share_hinted = 0.3
    score = 0.95
    checksum = True

    def confirm(self, value: str) -> bool:
        return bool(_EMAIL.match(value))


_EMAIL = re.compile(r"^(?!\.)(?!.*\.\.)[\w.%+'\-]{1,64}(?<!\.)@[\w\-]+(\.[\w\-]+)*\.[^\W\d_]{2,24}$")
_DATE_LIKE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")
# Dates, IPv4 addresses and postal codes written 12345-678 / 1234-567 are digit runs too, never phones.
_NOT_PHONE = re.compile(_DATE_LIKE.pattern + r"|^\d{1,3}(\.\d{1,3}){3}$|^\d{4,5}-\d{3}$")
_DECIMAL = re.compile(r"^-?\d+([.,]\d{1,3})?$")
_EXTENSION = re.compile(r"\s?(?:x|ext\.?|#)\s?\d+$")


@register
class Phone(Detector):
    """A phone number: 8-15 digits (6 with a name hint) grouped by spaces, dashes, dots or brackets.

    Bare digit strings count only under a name hint: without one they are indistinguishable from ids.
    """

    name = "phone"
    entity = "phone"
    tier = "A"
    name_hints = hints("phone", "tel_", "telefon", "telephone", "telefone", "telefono", "mobile?_", "mobil",
                       "cell_?(phone)?_", "fax", "handy", "gsm_", "portable_", "celular", "movil", "msisdn",
                       "contact_?(no|num)", "puhelin", "telefoon")
    negative_hints = hints(r"\w*(type|kind|verified|country_?code|ext(ension)?)_")
    patterns = (r"^\+?[0-9(][0-9 ().\-/]{4,22}[0-9]( ?(x|ext\.?|#) ?[0-9]{1,5})?$",)
    gate = "digits5"
    min_share = 0.8
    min_share_hinted = 0.5
    score = 0.9
    checksum = True
    hint_only = 0.5

    def confirm(self, value: str) -> bool:
        return phone_like(value, hinted=False)

    def measure(self, sample, hint: bool = False, threshold: float = 0.0) -> float:
        """Without a name hint, bare digit runs ("0658156593") count only once a third of the column is
        written like a phone number (grouped, +country code): a column of bare numbers is an id column."""
        if hint:
            return super().measure(sample, True, threshold)
        formatted = super().measure(sample, False, 0.3)
        return super().measure(sample, True, threshold) if formatted >= 0.3 else formatted

    def confirm_hinted(self, value: str) -> bool:
        return phone_like(value, hinted=True)


def phone_like(value: str, *, hinted: bool) -> bool:
    """Digits and grouping of a phone number; not a date or an amount. A hint admits bare digit strings."""
    main = _EXTENSION.split(value)[0]
    digits = sum(c.isdigit() for c in main)
    if not 6 <= digits <= 15 or _NOT_PHONE.match(main) or len({c for c in main if c.isdigit()}) < 3:
        return False
    if hinted:
        return True
    if _DECIMAL.match(main):
        return False
    separated = any(c in main for c in " ()-/") or main.count(".") >= 2 or main.startswith("+")
    return separated and digits >= 8
