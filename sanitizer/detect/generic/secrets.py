"""Passwords and secrets (tier B). Hex digests look like any other hash, so they count only under a name
hint; crypt-style hashes (bcrypt, argon2, sha-crypt, PBKDF2) exist for nothing but passwords and count alone."""

from __future__ import annotations

from ..base import Detector, hints
from ..registry import register

PASSWORD_HASHES = (
    r"^\$2[abxy]?\$[0-9]{2}\$[./A-Za-z0-9]{53}$",  # bcrypt
    r"^\$argon2(id|i|d)\$",  # argon2
    r"^\$[156]\$[^$]{1,16}\$[./A-Za-z0-9]{22,86}$",  # md5-crypt, sha256-crypt, sha512-crypt
    r"^(pbkdf2|bcrypt|argon2|scrypt)[_$:]",  # Django, Werkzeug and similar
)
HEX_DIGEST = r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128})$"


@register
class Password(Detector):
    """A password or its hash: crypt-style hashes anywhere; hex digests or any token under a name hint."""

    name = "password"
    entity = "password"
    tier = "B"
    name_hints = hints("password", "passwd", "pass_?word", "pwd_", "pw_?hash", "pass_?hash", "passphrase",
                       "secret", "passwort", "kennwort", "contrasena", "contrasenya", "mot_?de_?passe", "senha",
                       "haslo", "wachtwoord", "salasana", "api_?key", "private_?key", "auth_?token",
                       "access_?token", "refresh_?token", "otp_?secret", "pin_?hash")
    negative_hints = hints(r"\w*(changed|updated|expires?|reset_?at|set_?at|count|policy|hint)_")
    min_share = 0.8
    min_share_hinted = 0.8
    score = 0.9
    hint_only = 0.6
    checksum = False

    patterns = ("|".join(PASSWORD_HASHES),)

    def assess(self, column, sample):
        if sample.kind == "text" and sample.total and not self.hinted(column) and not sample.mask("crypt_head").any():
            return None  # no value starts like a crypt hash: skip the costlier full pattern
        return super().assess(column, sample)

    def patterns_for(self, hint: bool) -> tuple[str, ...]:
        return (r"^\S{4,}$",) if hint else self.patterns  # any token covers hex digests too
