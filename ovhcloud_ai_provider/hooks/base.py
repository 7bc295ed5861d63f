"""What both hooks share: connection lookup, token handling and the lazily built HTTP client."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import BaseHook

from ovhcloud_ai_provider.exceptions import OVHCloudAIConfigurationError
from ovhcloud_ai_provider.hooks.client import OVHCloudAIClient, RetryConfig
from ovhcloud_ai_provider.hooks.connection import ResolvedConnection, connection_extra, resolve_token

#: Per-attempt timeout of ``test_connection`` calls.
PROBE_TIMEOUT_SECONDS = 15.0


class OVHCloudAIBaseHook(BaseHook):
    """Resolves the connection once, registers the token with Airflow's masker, owns one client."""

    conn_name_attr = "ovh_conn_id"
    service: ClassVar[str]
    service_label: ClassVar[str]

    def __init__(self, ovh_conn_id: str, timeout: float, retry: RetryConfig | None = None) -> None:
        super().__init__()
        self.ovh_conn_id = ovh_conn_id
        self.timeout = timeout
        self._retry = retry
        self._resolved: ResolvedConnection | None = None
        self._client: OVHCloudAIClient | None = None

    # -- subclasses say how the base URL is chosen
    def _resolve(self, conn: Any, extra: dict[str, Any], token: str) -> ResolvedConnection:
        raise NotImplementedError

    @property
    def resolved(self) -> ResolvedConnection:
        if self._resolved is None:
            conn = self.get_connection(self.ovh_conn_id)
            extra = connection_extra(conn)
            token = resolve_token(conn, extra)
            if not token:
                raise OVHCloudAIConfigurationError(
                    f"OVHcloud {self.service_label} token not found in connection '{self.ovh_conn_id}'"
                )
            from ovhcloud_ai_provider.observability.logging import register_secret

            register_secret(token)
            self._resolved = self._resolve(conn, extra, token)
            self._retry = RetryConfig.from_extra(extra, self._retry)
        return self._resolved

    @property
    def base_url(self) -> str:
        return self.resolved.base_url

    def get_conn(self) -> OVHCloudAIClient:
        """The shared HTTP client (one session, so connections are reused across calls)."""
        if self._client is None:
            resolved = self.resolved
            self._client = OVHCloudAIClient(
                service=self.service,
                base_url=resolved.base_url,
                token=resolved.token,
                timeout=self.timeout,
                retry=self._retry,
            )
        return self._client

    @property
    def client(self) -> OVHCloudAIClient:
        return self.get_conn()

    def detached(self) -> OVHCloudAIBaseHook:
        """A copy of this hook with its own HTTP session and no connection lookup: safe to use from another
        thread while this hook's session (and the task's comms channel) may be busy."""
        resolved = self.resolved
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy._resolved = resolved
        copy._client = None
        return copy

    def probe(self) -> OVHCloudAIBaseHook:
        """A detached copy for ``test_connection``: one quick retry and a short timeout, so the UI's "Test"
        button answers in seconds even when the host is down (task calls keep the full retry budget)."""
        copy = self.detached()
        copy._retry = RetryConfig(max_retries=1, backoff_factor=0.2, backoff_jitter=0.0)
        copy.timeout = min(float(self.timeout), PROBE_TIMEOUT_SECONDS)
        return copy

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
