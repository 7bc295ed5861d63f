"""Turn an Airflow connection into what the HTTP client needs: base URL, token, region.

Both hooks resolve their connection here so that a ``generic`` connection, a connection of our own types,
a URI and a JSON ``AIRFLOW_CONN_*`` all behave the same way.

Where each value comes from, first match wins:
- token: ``password``, then extra ``token`` / ``api_key`` (names Airflow's masker already treats as secret);
- region (AI Training): the hook's ``region`` argument, then extra ``region``, then ``login`` (the seed
  documents the region in Login), then ``gra``;
- base URL: extra ``base_url``, then ``host`` (with ``schema`` http/https and ``port`` when ``host`` has no
  scheme), then the documented default (``BASE_URL`` or ``REGIONS[region]``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ovhcloud_ai_provider.exceptions import OVHCloudAIConfigurationError


@dataclass(frozen=True)
class ResolvedConnection:
    """What a hook needs from its connection; ``token`` is never printed (``repr`` hides it)."""

    base_url: str
    token: str
    region: str | None = None

    def __repr__(self) -> str:
        return f"ResolvedConnection(base_url={self.base_url!r}, region={self.region!r}, token='***')"


def connection_extra(conn: Any) -> dict[str, Any]:
    """Return the connection's extra as a dict, whatever form Airflow stored it in."""
    extra = getattr(conn, "extra_dejson", None)
    if not isinstance(extra, dict):
        raw = getattr(conn, "extra", None)
        try:
            extra = json.loads(raw) if raw else {}
        except (TypeError, ValueError):
            extra = {}
    if not isinstance(extra, dict):
        return {}
    # Older UIs store form fields as ``extra__<conn_type>__<field>``; accept both spellings.
    return {key.split("__")[-1] if key.startswith("extra__") else key: value for key, value in extra.items()}


def resolve_token(conn: Any, extra: dict[str, Any]) -> str | None:
    for candidate in (getattr(conn, "password", None), extra.get("token"), extra.get("api_key")):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def url_from_host(conn: Any, extra: dict[str, Any]) -> str | None:
    """Build a base URL override from ``extra.base_url`` or ``host``; ``None`` when neither is set."""
    explicit = extra.get("base_url")
    if isinstance(explicit, str) and explicit.strip():
        return _validated_url(explicit.strip())
    host = (getattr(conn, "host", None) or "").strip()
    if not host:
        return None
    if "://" in host:
        url = host
        port = getattr(conn, "port", None)
        if port and not urlsplit(url).port:
            parts = urlsplit(url)
            url = urlunsplit((parts.scheme, f"{parts.hostname}:{port}", parts.path, "", ""))
        return _validated_url(url)
    schema = (getattr(conn, "schema", None) or "").strip().lower()
    scheme = schema if schema in ("http", "https") else "https"
    port = getattr(conn, "port", None)
    hostname, slash, path = host.partition("/")
    netloc = f"{hostname}:{port}" if port else hostname
    return _validated_url(f"{scheme}://{netloc}{slash}{path}")


def _validated_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OVHCloudAIConfigurationError(
            f"Invalid base URL {url!r} in the connection: expected http(s)://host[:port][/path]"
        )
    return url.rstrip("/")


def with_default_path(url: str, path: str) -> str:
    """Append ``path`` (e.g. ``/v1``) to a host-only URL, keep any path the user gave."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    return url
