"""Where webhooks may post: http(s) URLs whose host resolves to public addresses only.

A webhook URL is checked when it is saved (a validator on `Webhook.url`, so the admin form and
any model form or serializer refuse it with a translated message) and again before every
delivery, because DNS can change after the save: the host is resolved, every address it
resolves to is checked, and the connection is made to a checked address (the URL's host still
names the server in the Host header, TLS SNI and certificate check). Redirects are not
followed. Refused: loopback, private, shared (CGNAT), link-local, multicast, reserved,
documentation and unspecified addresses, IPv4 and IPv6, including IPv4 addresses carried inside
IPv6 ones (IPv4-mapped, NAT64, 6to4, Teredo).

`WEBHOOK_ALLOW_PRIVATE=1` (settings) lets webhooks post to internal addresses, for
on-premise receivers; the scheme is still checked. A host that does not resolve when it is
saved is accepted (it is checked at delivery, which fails until it resolves).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = ("http", "https")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Shared address space (RFC 6598): carrier-grade NAT, never a public receiver.
SHARED = ipaddress.ip_network("100.64.0.0/10")

MESSAGES = {
    "scheme": _("Webhook URLs must start with http:// or https://."),
    "host": _("Enter a webhook URL with a host name."),
    "internal": _(
        "%(host)s resolves to %(address)s, an internal address (loopback, private, "
        "link-local, multicast or reserved). Webhooks post only to public addresses; "
        "WEBHOOK_ALLOW_PRIVATE=1 allows receivers on your own network."
    ),
    "unresolved": _("%(host)s could not be resolved."),
}
# The same refusal for a URL that names an address rather than a host name.
INTERNAL_ADDRESS = _(
    "%(address)s is an internal address (loopback, private, link-local, multicast or "
    "reserved). Webhooks post only to public addresses; WEBHOOK_ALLOW_PRIVATE=1 allows "
    "receivers on your own network."
)


def _message(code: str, params: dict[str, str]) -> Any:
    if code == "internal" and _same_address(params["host"], params["address"]):
        return INTERNAL_ADDRESS
    return MESSAGES[code]


def _same_address(host: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(address)
    except ValueError:
        return False


class Refused(Exception):
    """A webhook URL that must not be posted to; `code` is a key of MESSAGES."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        """The message in the active language."""
        message = _message(self.code, self.params)
        return str(message % self.params) if self.params else str(message)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def address_internal(address: IPAddress) -> bool:
    """Whether a receiver at `address` would be inside someone's network, not on the internet."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and address_internal(embedded):
            return True
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in SHARED)
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (socket.gaierror when it does not)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


@dataclass(frozen=True)
class Destination:
    """A checked URL and the addresses its host resolved to (all allowed)."""

    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


def _host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in SCHEMES:
        raise Refused("scheme")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is no number or out of range
        raise Refused("host") from exc
    if not host:
        raise Refused("host")
    return host, port or (443 if parts.scheme.lower() == "https" else 80)


def _allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE", False))


def _checked(host: str, addresses: list[str]) -> tuple[str, ...]:
    if not _allow_private():
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone
            if address_internal(address):
                raise Refused("internal", host=host, address=text)
    return tuple(addresses)


def destination(url: str) -> Destination:
    """Resolve and check `url` for a delivery now; Refused when it must not be posted to."""
    host, port = _host_and_port(url)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise Refused("unresolved", host=host) from exc
    if not addresses:
        raise Refused("unresolved", host=host)
    return Destination(url, host, port, _checked(host, addresses))


@deconstructible
class WebhookUrlValidator:
    """The save-time check of `Webhook.url` (see the module docstring)."""

    def __call__(self, value: str) -> None:
        try:
            host, port = _host_and_port(value)
            try:
                addresses = resolve(host, port)
            except (OSError, UnicodeError):
                return  # not resolvable now: checked again at every delivery
            _checked(host, addresses)
        except Refused as refused:
            raise ValidationError(
                _message(refused.code, refused.params),
                code=f"webhook_{refused.code}",
                params=refused.params,
            ) from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WebhookUrlValidator)

    def __hash__(self) -> int:
        return hash(WebhookUrlValidator)


validate_webhook_url = WebhookUrlValidator()


# --- Posting to the checked address ----------------------------------------------------------


def _pinned_session(address: str) -> requests.Session:
    """A session whose direct connections all go to `address`, whatever the URL's host resolves
    to by the time it connects; Host, SNI and the certificate check still use the URL's host.

    Connections through a proxy from the environment (HTTPS_PROXY…) go to the proxy as usual.
    """

    def _new_conn(connection: Any, parent: type) -> socket.socket:
        named = connection._dns_host
        connection._dns_host = address
        try:
            return parent._new_conn(connection)
        finally:
            connection._dns_host = named

    class PinnedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _new_conn(self, HTTPConnection)

    class PinnedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _new_conn(self, HTTPSConnection)

    class PinnedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = PinnedHTTPConnection

    class PinnedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = PinnedHTTPSConnection

    adapter = HTTPAdapter(max_retries=0)
    adapter.poolmanager.pool_classes_by_scheme = {
        "http": PinnedHTTPConnectionPool,
        "https": PinnedHTTPSConnectionPool,
    }
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def post(url: str, *, data: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `data` to a checked `url` and return the status code; the reply's body is never
    read. Refused when the URL must not be posted to; requests' exceptions as usual."""
    target = destination(url)
    with _pinned_session(target.addresses[0]) as session:
        reply = session.post(
            target.url,
            data=data,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        )
        reply.close()
        return reply.status_code
