"""National identity numbers with a check digit, validated by python-stdnum (tier A, entity national_id).

Each entry names the stdnum module, a pre-filter pattern in RE2 (so Arrow discards most values before any
Python runs) and name hints in the country's languages. Pure-digit numbers pass a random check digit about
one time in ten, so the column threshold (80% of the sample) is what separates them from other numbers.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..base import Detector, hints
from ..registry import REGISTRY

COMMON_HINTS = ("national_?id", "nat_?id", "id_?(card|number|no|nr)", "identity", "citizen_?id", "personal_?id",
                "person_?(id_)?(no|nr|number|code)", "tax_?(id|code|number)", "passport")


@dataclass(frozen=True)
class IdSpec:
    name: str  # detector name: <country>_<document>
    module: str  # python-stdnum module
    pattern: str  # RE2 pre-filter, full match
    hints: tuple[str, ...]


SPECS = (
    IdSpec("fr_nir", "stdnum.fr.nir", r"^[12][0-9 ]{12,19}$", ("nir", "insee", "secu", "securite_?sociale")),
    IdSpec("it_codice_fiscale", "stdnum.it.codicefiscale", r"^[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z]"
           r"[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z]$",
           ("codice_?fiscale", "cod_?fisc", "cf_")),
    IdSpec("nl_bsn", "stdnum.nl.bsn", r"^[0-9]{8,9}$|^[0-9]{4}\.[0-9]{2}\.[0-9]{3}$", ("bsn", "sofi", "burgerservice")),
    IdSpec("pl_pesel", "stdnum.pl.pesel", r"^[0-9]{11}$", ("pesel",)),
    IdSpec("br_cpf", "stdnum.br.cpf", r"^[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}$", ("cpf",)),
    IdSpec("se_personnummer", "stdnum.se.personnummer", r"^([0-9]{2})?[0-9]{6}[-+]?[0-9]{4}$",
           ("personnummer", "pnr_")),
    IdSpec("fi_hetu", "stdnum.fi.hetu", r"^[0-9]{6}[-+AaBbCcDdEeFfYyXxWwVvUu][0-9]{3}[0-9A-Ya-y]$",
           ("hetu", "henkilotunnus", "sotu")),
    IdSpec("no_fodselsnummer", "stdnum.no.fodselsnummer", r"^[0-9]{6} ?[0-9]{5}$", ("fodselsnummer", "fnr_")),
    IdSpec("dk_cpr", "stdnum.dk.cpr", r"^[0-9]{6}-?[0-9]{4}$", ("cpr",)),
    IdSpec("tr_tckimlik", "stdnum.tr.tckimlik", r"^[1-9][0-9]{10}$", ("tc_?kimlik", "kimlik")),
    IdSpec("es_dni", "stdnum.es.dni", r"^[0-9]{8}-?[A-Za-z]$", ("dni", "nif_")),
    IdSpec("es_nie", "stdnum.es.nie", r"^[XYZxyz]-?[0-9]{7}-?[A-Za-z]$", ("nie_",)),
    IdSpec("de_idnr", "stdnum.de.idnr", r"^[1-9][0-9]{10}$|^[0-9]{2} [0-9]{3} [0-9]{3} [0-9]{3}$",
           ("steuer_?id", "idnr", "steuerliche_?identifikationsnummer")),
    IdSpec("ch_ssn", "stdnum.ch.ssn", r"^756\.?[0-9]{4}\.?[0-9]{4}\.?[0-9]{2}$", ("ahv", "avs_")),
    IdSpec("be_nn", "stdnum.be.nn", r"^[0-9]{2}\.?[0-9]{2}\.?[0-9]{2}-?[0-9]{3}\.?[0-9]{2}$", ("rijksregister", "nn_")),
    IdSpec("ro_cnp", "stdnum.ro.cnp", r"^[1-9][0-9]{12}$", ("cnp",)),
    IdSpec("bg_egn", "stdnum.bg.egn", r"^[0-9]{10}$", ("egn",)),
    IdSpec("cz_rc", "stdnum.cz.rc", r"^[0-9]{6}/?[0-9]{3,4}$", ("rodne_?cislo", "rc_")),
    IdSpec("ee_ik", "stdnum.ee.ik", r"^[1-6][0-9]{10}$", ("isikukood",)),
    IdSpec("in_aadhaar", "stdnum.in_.aadhaar", r"^[2-9][0-9]{3} ?[0-9]{4} ?[0-9]{4}$", ("aadhaar", "uid_no")),
    IdSpec("cn_ric", "stdnum.cn.ric", r"^[1-9][0-9]{16}[0-9Xx]$", ("shenfenzheng", "resident_?id")),
    IdSpec("kr_rrn", "stdnum.kr.rrn", r"^[0-9]{6}-?[0-9]{7}$", ("rrn", "jumin")),
)


class StdnumDetector(Detector):
    """A national ID confirmed by its python-stdnum module's `is_valid` (checksum, date and range rules)."""

    entity = "national_id"
    tier = "A"
    gate = "digits5"
    min_share = 0.8
    min_share_hinted = 0.5
    score = 0.95
    checksum = True

    def __init__(self, spec: IdSpec, module) -> None:
        self.name = spec.name
        self.patterns = (spec.pattern,)
        self.name_hints = hints(*spec.hints, *COMMON_HINTS)
        self._is_valid = module.is_valid

    def confirm(self, value: str) -> bool:
        try:
            return bool(self._is_valid(value))
        except Exception:  # a checksum module that trips on odd input has said "not valid"
            return False


def _register_all() -> None:
    for spec in SPECS:
        try:
            module = importlib.import_module(spec.module)
        except ImportError:  # an older python-stdnum without this country: skip it, the others still work
            continue
        REGISTRY.add(StdnumDetector(spec, module))


_register_all()
