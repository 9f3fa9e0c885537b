"""The caller's IP address as the gateway records it: canonical text, or unknown.

Behind ``TRUSTED_PROXIES`` the address is what ``X-Forwarded-For`` says, text that
whoever is upstream of the proxy may have written; uvicorn's ``ProxyHeadersMiddleware``
hands it on as it is. Rate limits count it and the sessions and audit tables keep it
(45 characters), so only an IP address passes, written one way: ``2001:DB8:0::1`` and
``2001:db8::1`` are one client.
"""

from __future__ import annotations

import ipaddress


def client_ip(host: str | None) -> str | None:
    """``host`` as an IP address in ``ipaddress``'s canonical form; ``None`` when it is not one.

    An IPv6 zone (``fe80::1%eth0``) names an interface of the sender's machine, not the
    client, and has no length limit: it is dropped.
    """
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        address = ipaddress.IPv6Address(int(address))
    return str(address)
