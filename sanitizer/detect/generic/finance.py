"""Payment card numbers (Luhn + issuer prefix) and IBANs (ISO 13616 mod-97), both tier A."""

from __future__ import annotations

from stdnum import iban as stdnum_iban

from ..base import Detector, hints
from ..registry import register


def luhn_ok(digits: str) -> bool:
    """ISO/IEC 7812 check digit: double every second digit from the right."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def known_issuer(digits: str) -> bool:
    """An issuer identification range in use (Visa, Mastercard incl. the 2221-2720 series, Amex, Discover,
    JCB, Diners, Maestro, UnionPay, Mir); a random Luhn-valid number usually starts elsewhere."""
    n = len(digits)
    p2, p4 = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16  # Mastercard, both series
    if p2 in (34, 37):
        return n == 15  # Amex
    if p4 == 6011 or p2 == 65 or 644 <= int(digits[:3]) <= 649:
        return 16 <= n <= 19  # Discover
    if digits[:2] == "35" or (p4 in (1800, 2131) and n == 15):
        return 16 <= n <= 19 or n == 15  # JCB (3528-3589 today; 35xx, 1800 and 2131 in older ranges)
    if 300 <= int(digits[:3]) <= 305 or p2 in (36, 38, 39):
        return 14 <= n <= 19  # Diners
    if p2 == 62 or p4 in (2200, 2201, 2202, 2203, 2204):
        return 16 <= n <= 19  # UnionPay, Mir
    return (p2 in (50, 56, 57, 58, 63, 67) or p4 in (604, 6390, 6759, 6761, 6762, 6763)) and 12 <= n <= 19  # Maestro


# Published test numbers (card-network sandboxes): real card columns never hold them en masse.
TEST_CARDS = frozenset({
    "4111111111111111", "4242424242424242", "4012888888881881", "5555555555554444", "5105105105105100",
    "378282246310005", "371449635398431", "6011111111111117", "3530111333300000", "4000056655665556",
})


@register
class CreditCard(Detector):
    """A payment card number: 12-19 digits, optionally grouped, Luhn-valid, with a known issuer prefix."""

    name = "credit_card"
    entity = "credit_card"
    tier = "A"
    name_hints = hints("card", "cc_?(num|no)", "pan_", "kreditkarte", "tarjeta", "carte", "carta", "cartao")
    patterns = (r"^[0-9](?:[ \-]?[0-9]){11,18}$",)
    gate = "digits5"
    min_share = 0.8
    min_share_hinted = 0.5
    score = 0.95
    checksum = True

    def confirm(self, value: str) -> bool:
        digits = value.replace(" ", "").replace("-", "")
        return known_issuer(digits) and luhn_ok(digits)

    def invalidate(self, value: str) -> bool:
        return value.replace(" ", "").replace("-", "") in TEST_CARDS


@register
class Iban(Detector):
    """An IBAN: country code, two check digits, the country's BBAN length, mod-97 == 1 (via python-stdnum)."""

    name = "iban"
    entity = "iban"
    tier = "A"
    name_hints = hints("iban", "bank_?account", "account_?(no|number)", "konto", "cuenta", "compte", "rekening")
    gate = "iban_head"
    patterns = (r"^[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){10,32}$",)
    min_share = 0.8
    min_share_hinted = 0.5
    score = 0.95
    checksum = True

    def confirm(self, value: str) -> bool:
        return stdnum_iban.is_valid(value)
