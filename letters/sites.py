"""Site addresses: the same site written in different ways must match."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# A host name: labels of letters of any alphabet (a Cyrillic domain), digits, «-» and «_».
_HOST = re.compile(r"[\w-]+(\.[\w-]+)+")


def site_key(url: str) -> str:
    """Normalise a site address for matching.

    Scheme, `www.`, the case of the host, a trailing `/` and the IDN/punycode form are
    ignored; the path is kept (an institution may live in a section of a portal).
    Raises ValueError, with a Russian explanation, when there is no site address to be found.
    """
    text = "".join(url.split())  # spaces of any kind, incl. non-breaking and stray line breaks
    text = text.replace("\u200b", "").replace("\ufeff", "").replace("\u200c", "").replace("\u200d", "")
    if not text:
        raise ValueError("пустой адрес")
    if "://" not in text:
        text = "http://" + text
    shown = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # a broken port or [IPv6] part; urllib explains it in English
        raise ValueError(f"«{shown}» — не адрес сайта") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"«{shown}» похоже на адрес почты или адрес с паролем, а нужен адрес сайта")
    host = (parts.hostname or "").rstrip(".")
    if not host or "." not in host:
        raise ValueError(f"не видно имени сайта в «{shown}»")
    if not _HOST.fullmatch(host):
        raise ValueError(f"в адресе «{shown}» лишние знаки (в ячейке должен быть один адрес сайта)")
    host = _unicode_host(host.lower())
    if host.startswith("www."):
        host = host[4:]
    path = parts.path.rstrip("/")
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    return host + path + (f"?{parts.query}" if parts.query else "")


def _unicode_host(host: str) -> str:
    """Punycode labels (`xn--…`) become Unicode, so both forms compare equal."""
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna").lower()
            except UnicodeError:
                pass
        labels.append(label)
    return ".".join(labels)
