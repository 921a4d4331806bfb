"""Site addresses: the same site written in different ways must match."""

from __future__ import annotations

from urllib.parse import urlsplit


def site_key(url: str) -> str:
    """Normalise a site address for matching.

    Scheme, `www.`, the case of the host, a trailing `/` and the IDN/punycode form are
    ignored; the path is kept (an institution may live in a section of a portal).
    Raises ValueError when there is no host to be found.
    """
    text = "".join(url.split())  # spaces of any kind, incl. non-breaking and stray line breaks
    text = text.replace("\u200b", "").replace("\ufeff", "")
    if not text:
        raise ValueError("пустой адрес")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    host = (parts.hostname or "").rstrip(".")
    if not host or "." not in host:
        raise ValueError(f"не видно имени сайта в «{url.strip()}»")
    host = _unicode_host(host.lower())
    if host.startswith("www."):
        host = host[4:]
    path = parts.path.rstrip("/")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    return host + path + (f"?{parts.query}" if parts.query else "")


def _unicode_host(host: str) -> str:
    """Punycode labels (`xn--…`) become Unicode, so both forms compare equal."""
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except UnicodeError:
                pass
        labels.append(label)
    return ".".join(labels)
