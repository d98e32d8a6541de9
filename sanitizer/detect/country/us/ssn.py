"""US Social Security numbers under the SSA's allocation rules (tier A)."""

from __future__ import annotations

from ...base import Detector, hints
from ...registry import register

# Numbers the SSA or advertisers published as examples (the Woolworth wallet card, 219-09-9999, ...).
KNOWN_FAKES = frozenset({"078051120", "219099999", "123456789", "457555462", "111111111", "333333333"})


def ssn_ok(digits: str) -> bool:
    """SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area != "000" and area != "666" and area[0] != "9" and group != "00" and serial != "0000"


@register
class UsSsn(Detector):
    """A US SSN: AAA-GG-SSSS (bare nine digits only under a name hint), valid area, group and serial."""

    name = "us_ssn"
    entity = "us_ssn"
    tier = "A"
    name_hints = hints("ssn", "social_?security", "soc_?sec", "ss_?(no|num)", "tax_?id", "tin_", "itin_")
    patterns = (r"^[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}$",)
    gate = "digits5"
    min_share = 0.8
    min_share_hinted = 0.5
    score = 0.95
    checksum = True
    hint_only = 0.5

    def patterns_for(self, hint: bool) -> tuple[str, ...]:
        return (*self.patterns, r"^[0-9]{9}$") if hint else self.patterns

    def confirm(self, value: str) -> bool:
        return ssn_ok(value.replace("-", "").replace(" ", ""))

    def invalidate(self, value: str) -> bool:
        digits = value.replace("-", "").replace(" ", "")
        return digits in KNOWN_FAKES or len(set(digits)) == 1
