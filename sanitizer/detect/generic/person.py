"""People's names, user names and photos (tier B: direct identifiers with no checksum).

Names are matched against Faker's first- and last-name lists of every locale (see lexicon.py). The lists
overlap ("Thomas", "James"), so a column is a first-name column when its values are first names *more*
than they are last names, or when its name says so.
"""

from __future__ import annotations

import re

import numpy as np

from .. import lexicon
from ..base import Detector, hints
from ..registry import register
from ..sample import GATES, Sample

_CJK = re.compile(r"^[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{2,4}$")
_SPLIT = re.compile(r"[._\-0-9]+")
# Surname particles that stand between given and family name ("van der", "de la", "von").
PARTICLES = frozenset({"van", "de", "der", "den", "von", "zu", "da", "di", "del", "della", "dos", "das", "do",
                       "du", "le", "la", "ter", "ten", "op", "'t", "bin", "ibn", "al", "y", "e"})


def _shares(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """Masks of single-token values found in the first-name and in the last-name list (cached per sample)."""
    cached = sample.memo.get("name_masks")
    if cached is None:
        first, last = lexicon.first_names(), lexicon.last_names()
        wordy = sample.mask("wordy")
        f = np.zeros(len(wordy), dtype=bool)
        la = np.zeros(len(wordy), dtype=bool)
        lower = sample.lower
        for i in np.flatnonzero(wordy):
            v = lower[i]
            f[i] = v in first
            la[i] = v in last or v.rsplit(" ", 1)[-1] in last
        cached = sample.memo["name_masks"] = (f, la)
    return cached  # type: ignore[return-value]


class _SingleName(Detector):
    tier = "B"
    gate = "wordy"
    min_share = 0.6
    min_share_hinted = 0.2
    score = 0.8
    hint_bonus = 0.15
    hint_only = 0.5
    own = 0  # index into _shares: 0 first names, 1 last names

    def passes(self, sample: Sample, hint: bool = False) -> np.ndarray:
        masks = _shares(sample)
        mine, other = masks[self.own], masks[1 - self.own]
        if hint or sample.share(mine) > sample.share(other):
            return mine.copy()
        return np.zeros(len(mine), dtype=bool)


@register
class FirstName(_SingleName):
    """A given name: a value in Faker's first-name lists of any locale."""

    name = "first_name"
    entity = "first_name"
    name_hints = hints("first_?name", "given_?name", "forename", "fore_name", "fname", "vorname", "prenom",
                       "nombre_", "nome_", "voornaam", "imie", "fornavn", "fornamn", "etunimi", "christian_?name")
    own = 0


@register
class LastName(_SingleName):
    """A family name: a value in Faker's last-name lists of any locale."""

    name = "last_name"
    entity = "last_name"
    name_hints = hints("last_?name", "sur_?name", "family_?name", "lname", "nachname", "familienname",
                       "apellidos?", "nom_?de_?famille", "nom_", "cognome", "sobrenome", "achternaam", "nazwisko",
                       "efternamn", "etternavn", "sukunimi", "maiden_?name")
    own = 1


def full_name_like(tokens: list[str], raw: str) -> bool:
    """Two to five words, titles dropped, a first name at one end and a last name at the other."""
    first, last, affixes = lexicon.first_names(), lexicon.last_names(), lexicon.person_affixes()
    words = [t for t in tokens if t and t.replace(".", "") not in affixes and t not in PARTICLES]
    if len(words) < 2:
        if len(tokens) == 1 and _CJK.match(raw):  # 王秀英, 佐藤陽子: a surname of one or two characters
            return any(raw[:k] in last and raw[k:] in first for k in (1, 2))
        return False
    if len(words) > 5:
        return False
    a, z = words[0].rstrip(","), words[-1]
    if "-" in a or "-" in z:  # "Gro-Mari", "Stoffel-van Oosten": either part will do
        a = next((p for p in a.split("-") if p in first or p in last), a)
        z = next((p for p in reversed(z.split("-")) if p in last or p in first), z)
    if a in first and (z in last or z in first):
        return True
    if a in first and len(tokens) >= 3:  # the family name keeps its particle: "van Boven", "van de Ven"
        return " ".join(tokens[-2:]) in last or " ".join(tokens[-3:]) in last
    return a in last and z in first


_LIST = re.compile(r"\s*(?:[,/&;+]| and | und | y | et )\s*")
_INITIAL = re.compile(r"^(?:\w\.)+$")


def names_list_like(raw: str) -> bool:
    """"Steven Tyler, Joe Perry", "U. Dirkschneider & W. Hoffmann": most parts are names or initial + name."""
    parts = [p for p in _LIST.split(raw) if p]
    if len(parts) < 2:
        return False
    last = lexicon.last_names()
    ok = 0
    for part in parts:
        tokens = [t.strip(".,;:()\"'") for t in part.lower().split()]
        initial = len(tokens) == 2 and _INITIAL.match(part.split()[0]) and tokens[1] in last
        ok += bool(initial or full_name_like(tokens, part))
    return ok * 2 >= len(parts)


@register
class FullName(Detector):
    """A person's full name: given and family name in either order, titles ("Dr.", "MBA") ignored."""

    name = "full_name"
    entity = "full_name"
    tier = "B"
    name_hints = hints("full_?name", "(contact|customer|client|person|patient|employee|user|owner|holder|"
                       "recipient|sender|ship|bill)_?name", "name_", "nombre_completo", "nom_complet",
                       "nome_completo", "naam_", "navn_", "namn_", "nimi_", "author", "composer", "signatory")
    negative_hints = hints(r"\w*(file|host|domain|table|column|product|item|album|track|song|category|genre|"
                           r"media|playlist|artist|company|shop|store|brand|city|country|region|state|street|"
                           r"type|language|event|project|app|device|field|class|role|group|team|skill|"
                           r"course|place|sku)_?name")
    gate = "wordy"
    min_share = 0.6
    min_share_hinted = 0.3
    score = 0.85
    hint_bonus = 0.1
    hint_only = 0.4

    patterns = (GATES["wordy"],)

    def confirm(self, value: str) -> bool:
        tokens = [t.strip(".,;:()\"'") for t in value.lower().split()]
        return full_name_like(tokens, value) or (len(tokens) > 2 and names_list_like(value))


@register
class Username(Detector):
    """A login name: one token of letters, digits, dots, dashes or underscores; with no name hint it must be
    lower-case and built from a name ("jsmith", "maria.garcia", "kim82")."""

    name = "username"
    entity = "username"
    tier = "B"
    name_hints = hints("user_?name", "login", "screen_?name", "nick_?name", "handle_", "benutzer", "usuario",
                       "utilisateur", "account_?name", "user_?id_?(str|name)", "uid_name", "nom_d_?utilisateur")
    negative_hints = hints(r"\w*(count|type)_")
    patterns = (r"^[^\s@,;:/()]{2,64}$",)
    min_share = 0.7
    min_share_hinted = 0.6
    score = 0.75
    hint_bonus = 0.2
    hint_only = 0.4

    def patterns_for(self, hint: bool) -> tuple[str, ...]:
        return self.patterns if hint else (r"^[a-z][a-z0-9._\-]{2,31}$",)

    def confirm(self, value: str) -> bool:
        names = lexicon.ascii_names()
        return any(_built_from_names(p, names) for p in _SPLIT.split(value) if len(p) >= 3)

    def confirm_hinted(self, value: str) -> bool:
        return True


def _built_from_names(piece: str, names: frozenset[str]) -> bool:
    """"smith", "jsmith" (initial + name) or "johnsmith" (two names run together), names in ASCII."""
    if piece in names or piece[1:] in names:
        return True
    return any(piece[:k] in names and piece[k:] in names for k in range(2, len(piece) - 1))


@register
class Photo(Detector):
    """A picture of a person: a binary column named like a photo (its bytes are a face, not a format)."""

    name = "photo"
    entity = "photo"
    tier = "B"
    name_hints = hints("photo", "picture", "portrait", "avatar", "headshot", "selfie", "foto", "bild_",
                       "face_?(image|img)", "profile_?(image|img|pic)", "mugshot", "image_", "img_")
    kinds = frozenset({"binary"})
    requires_hint = True
    min_share = 1.0
    min_share_hinted = 0.0
    score = 0.7
    hint_only = 0.6

    def passes(self, sample: Sample, hint: bool = False) -> np.ndarray:
        return np.ones(len(sample.values), dtype=bool)
