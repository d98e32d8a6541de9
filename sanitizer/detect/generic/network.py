"""IP (v4, v6) and MAC addresses: tier A, their syntax is their check."""

from __future__ import annotations

import ipaddress

from ..base import Detector, hints
from ..registry import register

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"


@register
class IPv4(Detector):
    """A dotted-quad IPv4 address (optionally with a /prefix); version strings have fewer parts."""

    name = "ipv4"
    entity = "ip_address"
    tier = "A"
    name_hints = hints("ip_", "ip_?addr", "ipv4", "remote_?addr", "client_?ip", "host_?addr", "ip_?adresse")
    gate = "dotted_digits"
    patterns = (rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/[0-9]{{1,2}})?$",)
    min_share = 0.8
    min_share_hinted = 0.5
    score = 0.9
    checksum = True


@register
class IPv6(Detector):
    """An IPv6 address, confirmed by the standard library's parser (compressed forms, embedded IPv4)."""

    name = "ipv6"
    entity = "ip_address"
    tier = "A"
    name_hints = hints("ip_", "ip_?addr", "ipv6", "remote_?addr", "client_?ip")
    gate = "hex_colon"
    patterns = (r"^[0-9A-Fa-f:]{2,39}(?:[0-9.]{7,15})?(?:/[0-9]{1,3})?$",)
    min_share = 0.8
    min_share_hinted = 0.5
    score = 0.9
    checksum = True

    def confirm(self, value: str) -> bool:
        if value.count(":") < 2:
            return False
        try:
            ipaddress.IPv6Network(value, strict=False) if "/" in value else ipaddress.IPv6Address(value)
        except ValueError:
            return False
        return True


@register
class MacAddress(Detector):
    """A MAC address: six hex pairs split by colons or dashes, or Cisco's three dotted quads."""

    name = "mac_address"
    entity = "mac_address"
    tier = "A"
    name_hints = hints("mac_", "mac_?addr", "hw_?addr", "hardware_?addr", "bssid")
    gate = "hex_colon"
    patterns = (r"^[0-9A-Fa-f]{2}(?:[:\-][0-9A-Fa-f]{2}){5}$|^[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$",)
    min_share = 0.8
    min_share_hinted = 0.5
    score = 0.9
