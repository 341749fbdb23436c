"""Credentials never leave the process in text: one place that masks them.

A URL shown anywhere (settings' repr, CLI lines, error messages) goes through
`redact_url`; a message that may quote a connection string goes through
`scrub` with the secrets the settings know.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

MASK = "***"


def redact_url(url: str) -> str:
    """`url` with its password (in the authority or as `?password=`) replaced by ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{MASK}@{hosts}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key == "password" for key, _ in pairs):
            masked = [(k, MASK if k == "password" else v) for k, v in pairs]
            query = urlencode(masked, safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def url_passwords(url: str) -> list[str]:
    """The passwords a URL carries, as written and decoded."""
    found = []
    parts = urlsplit(url)
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        found.append(userinfo.partition(":")[2])
    found.extend(v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "password")
    return [p for p in {*found, *(unquote(p) for p in found)} if p]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (and its URL-encoded form) replaced by ***."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK).replace(quote(secret, safe=""), MASK)
    return text


def leaks(error: BaseException, secrets: Iterable[str]) -> bool:
    """Whether `error`, or any error chained to it, mentions a secret."""
    wanted = [s for s in secrets if s]
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = f"{current!s} {current!r} {getattr(current, 'args', '')}"
        if any(secret in text for secret in wanted):
            return True
        current = current.__cause__ or current.__context__
    return False
