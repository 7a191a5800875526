"""Settings from the environment (prefix ``INSIGHTS_``), built in ``main()``, never at import.

A server URL left unset means "use the embedded stack": the launcher in
``insights.stack`` starts that server on loopback under ``state_dir``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Topic kinds of the event contract, in contract order; a topic's default name
#: is ``topic_prefix + kind`` (``insights.sessions`` ...).
TOPIC_KINDS: Final = ("sessions", "pageviews", "errors", "security", "activity", "users")


class Settings(BaseSettings):
    """Every knob of the service; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="INSIGHTS_", extra="ignore")

    kafka_bootstrap: str | None = Field(
        None, description="Kafka bootstrap servers, comma separated; unset = embedded broker"
    )
    postgres_url: str | None = Field(None, description="PostgreSQL URL; unset = embedded")
    redis_url: str | None = Field(None, description="Redis URL; unset = embedded Valkey")
    state_dir: Path = Field(Path(".insights"), description="where the embedded stack lives")

    topic_prefix: str = "insights."
    topic_sessions: str | None = None
    topic_pageviews: str | None = None
    topic_errors: str | None = None
    topic_security: str | None = None
    topic_activity: str | None = None
    topic_users: str | None = None
    partitions: int = Field(8, ge=1, description="partitions per topic when creating topics")

    consumer_group: str = "insights"
    batch_size: int = Field(2000, ge=1, description="max events per batch")
    batch_linger_ms: int = Field(
        20, ge=0, description="max wait before a partial batch (under load batches fill first)")
    max_message_bytes: int = Field(64 * 1024, ge=256)
    max_future_seconds: int = Field(300, ge=0, description="tolerated clock skew of `ts`")
    session_timeout_ms: int = Field(6000, ge=1000)
    max_poll_interval_ms: int = Field(
        30000, ge=1000, description="also the rebalance timeout: a join waits up to a share of it"
    )
    retry_max_seconds: float = Field(10.0, gt=0, description="cap of the sink retry backoff")
    metrics_port: int = Field(9464, ge=0, le=65535, description="Prometheus port; 0 = off")
    metrics_host: str = Field("127.0.0.1", description="address the metrics port binds")
    log_level: str = "INFO"

    redis_sink: bool = Field(
        True, description="also keep the Redis read model (false: PostgreSQL only)"
    )
    redis_prefix: str = Field(
        "insights", description="first part of every Redis key (deployments can share a server)"
    )
    sections: dict[str, list[str]] | None = Field(
        None, description="sections as JSON {name: [path prefixes]}; unset = reference map"
    )
    web_host: str = Field("127.0.0.1", description="address the web app binds")
    web_port: int = Field(8000, ge=0, le=65535, description="port of the web app")
    web_origins: str = Field(
        "", description="extra origins allowed to open WebSockets, comma separated"
                        " (the app's own origin always is)")
    web_secure_cookies: bool | None = Field(
        None, description="force the cookies' Secure flag on or off; unset = when the page"
                          " came over HTTPS")
    web_forwarded_allow_ips: str = Field(
        "127.0.0.1", description="proxies trusted for X-Forwarded-For/-Proto (comma"
                                 " separated, * = any): the client address and scheme")
    session_idle_minutes: int = Field(720, ge=1, description="a log-in ends this idle")
    session_lifetime_hours: int = Field(168, ge=1, description="a log-in ends this old")
    login_failures_per_email: int = Field(5, ge=1, description="per login window")
    login_failures_per_ip: int = Field(30, ge=1, description="per login window")
    login_window_s: int = Field(900, ge=1, description="window of the log-in throttle")
    web_ws_deflate: bool = Field(
        False, description="compress WebSocket messages (permessage-deflate): less traffic,"
                           " much more CPU per client")
    live_interval_ms: int = Field(
        150, ge=10, description="least time between two recomputes of one live view")
    web_redis_timeout_ms: int = Field(
        750, ge=10, description="the web app's Redis connect and command timeout: a Redis"
                                " silent this long makes the answer a 503")
    web_postgres_timeout_ms: int = Field(
        750, ge=10, description="the web app's PostgreSQL statement timeout and wait for a"
                                " pooled connection; a server silent 250 ms longer is cut off")

    @field_validator("postgres_url")
    @classmethod
    def _plain_postgres_scheme(cls, value: str | None) -> str | None:
        # SQLAlchemy-style URLs are accepted too; psycopg2 wants the plain scheme.
        if value and value.startswith("postgresql+psycopg2://"):
            return "postgresql://" + value.removeprefix("postgresql+psycopg2://")
        return value

    def topics(self) -> dict[str, str]:
        """Topic kind -> topic name."""
        return {
            kind: getattr(self, f"topic_{kind}") or f"{self.topic_prefix}{kind}"
            for kind in TOPIC_KINDS
        }
