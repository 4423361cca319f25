"""Which Host and Origin headers `memmap-tui serve` answers: the defence against DNS rebinding.

A web page on any site can point its own host name at 127.0.0.1 (DNS rebinding) and then load
our page and open its websocket as if it were the same site; every websocket starts a
memmap-tui process. The browser still sends the attacker's name in `Host` and its page's
origin in `Origin`, so the server answers only names it was bound to (or told about) and only
websockets opened by a page it served itself.

Rules:
- bound to a loopback address or `localhost`: `localhost`, `127.0.0.1`, `::1` and the bound
  address itself;
- bound to a specific address: that address;
- bound to every interface (0.0.0.0, ::): any IP address literal (a literal cannot be rebound),
  plus this machine's host name;
- always: the host of --public-url and every --allow-host name;
- the port in `Host` must be the server's port (or the public URL's), when the port is given;
- a websocket must carry an `Origin` whose scheme://host[:port] is an allowed host.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """True for a loopback address or one of the loopback names."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    address = _ip(host)
    return address is not None and address.is_loopback


def split_host(value: str) -> tuple[str, int | None] | None:
    """"name:port", "[v6]:port", "name" -> (lower-case name without brackets, port or None);
    None when it is not a host at all (empty, bad port, stray brackets)."""
    text = value.strip().lower()
    if not text or any(ch.isspace() or ch in "/\\@?#" for ch in text):
        return None
    port: int | None = None
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            return None
        name, rest = text[1:close], text[close + 1:]
        if _ip(name) is None:
            return None
        if rest:
            if not rest.startswith(":"):
                return None
            port_text = rest[1:]
        else:
            port_text = None
    elif text.count(":") > 1:
        return None               # a bare IPv6 address must be in brackets in a Host header
    else:
        name, _, port_text = text.partition(":")
        if not _:
            port_text = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            return None
        port = int(port_text)
    if not name:
        return None
    return name.rstrip("."), port


@dataclass(frozen=True)
class HostGuard:
    """The host names (and ports) one server answers; see the module docstring for the rules."""

    names: frozenset[str]
    ports: frozenset[int]
    any_ip_literal: bool = False

    @classmethod
    def for_server(cls, bind_host: str, port: int, *, public_url: str | None = None,
                   allow_hosts: tuple[str, ...] | list[str] = ()) -> "HostGuard":
        bound = bind_host.strip("[]").lower()
        names = {bound} if bound not in WILDCARD_ADDRESSES else set()
        ports = {port}
        wildcard = bound in WILDCARD_ADDRESSES
        if is_loopback(bound):
            names |= {"localhost", "127.0.0.1", "::1"}
        if wildcard:
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        if public_url:
            parts = urlsplit(public_url)
            if parts.hostname:
                names.add(parts.hostname.lower())
            ports.add(parts.port or (443 if parts.scheme == "https" else 80))
        for extra in allow_hosts:
            parsed = split_host(extra)
            if parsed is None:
                raise ValueError(f"--allow-host {extra!r}: not a host name")
            names.add(parsed[0])
        return cls(frozenset(n.rstrip(".") for n in names if n), frozenset(ports), wildcard)

    def allows_host(self, header: str | None) -> bool:
        """Is this `Host` header one of ours?"""
        if not header:
            return False
        parsed = split_host(header)
        if parsed is None:
            return False
        name, port = parsed
        if port is not None and port not in self.ports:
            return False
        if name in self.names:
            return True
        return self.any_ip_literal and _ip(name) is not None

    def allows_origin(self, header: str | None) -> bool:
        """Is this `Origin` header a page of ours (http/https on an allowed host)?"""
        if not header:
            return False
        parts = urlsplit(header.strip())
        if parts.scheme not in ("http", "https") or parts.path not in ("", "/"):
            return False
        if parts.query or parts.fragment or parts.username or parts.password:
            return False
        return self.allows_host(parts.netloc)
