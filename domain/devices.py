"""What a sign-in's client looks like to its owner: a readable summary of its user agent, and
the keyed hash that tells a device the account has signed in from before from a new one.

The summary is honest guesswork from a header the caller writes: a few well-known browser and
system names, matched in the order that tells them apart (Edge and Opera also say "Chrome",
Chrome also says "Safari"); anything else is "an unrecognised browser". No network lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

# (token in the user agent, name): the first match wins, so the specific come before the general.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
_SYSTEMS = (
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
UNKNOWN_BROWSER = "an unrecognised browser"
UNKNOWN_SYSTEM = "an unrecognised system"


def browser_family(user_agent: str | None) -> str:
    return next((name for token, name in _BROWSERS if user_agent and token in user_agent), UNKNOWN_BROWSER)


def system_family(user_agent: str | None) -> str:
    return next((name for token, name in _SYSTEMS if user_agent and token in user_agent), UNKNOWN_SYSTEM)


def device_summary(user_agent: str | None) -> str:
    """ "Firefox on Windows", "Safari on iOS", "an unrecognised browser on an unrecognised system"."""
    return f"{browser_family(user_agent)} on {system_family(user_agent)}"


def network_of(ip: str | None) -> str:
    """The network an address belongs to, as far as a device keeps it: its IPv4 /24 or IPv6 /64
    (a home or office line hands out addresses within one, a mobile one often does not)."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


class DeviceFingerprints:
    """Keyed hashes of (browser, system, network): a device is known by its hash only, so the table
    of known devices tells nobody which browsers or networks an account uses."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def of(self, ip: str | None, user_agent: str | None) -> str:
        identity = "\n".join((browser_family(user_agent), system_family(user_agent), network_of(ip)))
        return hmac.new(self._key, identity.encode(), hashlib.sha256).hexdigest()
