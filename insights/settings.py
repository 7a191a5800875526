"""Settings from the environment (prefix ``INSIGHTS_``), built in ``main()``, never at import.

A server URL left unset means "use the embedded stack": the launcher in
``insights.stack`` starts that server on loopback under ``state_dir``. Unless the URL
is built from its parts (``INSIGHTS_POSTGRES_HOST`` ..., the password percent-encoded),
and any setting ``NAME`` may be read from a file named by ``INSIGHTS_NAME_FILE``
(compose or Kubernetes secrets), so a password is never pasted into a URL or left in
the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX: Final = "INSIGHTS_"
#: The suffix naming a file that holds a setting's value: ``INSIGHTS_SECRET_KEY_FILE``.
FILE_SUFFIX: Final = "_FILE"

#: Topic kinds of the event contract, in contract order; a topic's default name
#: is ``topic_prefix + kind`` (``insights.sessions`` ...).
TOPIC_KINDS: Final = ("sessions", "pageviews", "errors", "security", "activity", "users")


class Settings(BaseSettings):
    """Every knob of the service; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    kafka_bootstrap: str | None = Field(
        None, description="Kafka bootstrap servers, comma separated; unset = embedded broker"
    )
    postgres_url: str | None = Field(
        None, description="PostgreSQL URL; unset = built from postgres_host ... when that is"
                          " set, else embedded")
    postgres_host: str | None = Field(
        None, description="PostgreSQL host, when the URL is built from its parts")
    postgres_port: int = Field(5432, ge=1, le=65535, description="with postgres_host")
    postgres_db: str = Field("insights", description="database name, with postgres_host")
    postgres_user: str = Field("insights", description="role, with postgres_host")
    postgres_password: SecretStr | None = Field(
        None, description="the role's password, with postgres_host (percent-encoded into the"
                          " URL; best read from INSIGHTS_POSTGRES_PASSWORD_FILE)")
    redis_url: str | None = Field(
        None, description="Redis URL; unset = built from redis_host ... when that is set,"
                          " else embedded Valkey")
    redis_host: str | None = Field(
        None, description="Redis host, when the URL is built from its parts")
    redis_port: int = Field(6379, ge=1, le=65535, description="with redis_host")
    redis_db: int = Field(0, ge=0, description="database number, with redis_host")
    redis_username: str | None = Field(None, description="ACL user, with redis_host")
    redis_password: SecretStr | None = Field(
        None, description="the password, with redis_host (percent-encoded into the URL;"
                          " best read from INSIGHTS_REDIS_PASSWORD_FILE)")
    state_dir: Path = Field(Path(".insights"), description="where the embedded stack lives")
    embedded: Literal["auto", "never"] = Field(
        "auto", description="auto = a server URL left unset starts the embedded stack; never ="
                            " it is an error (the image sets this: a container must not"
                            " quietly run its own servers)")

    topic_prefix: str = "insights."
    topic_sessions: str | None = None
    topic_pageviews: str | None = None
    topic_errors: str | None = None
    topic_security: str | None = None
    topic_activity: str | None = None
    topic_users: str | None = None
    partitions: int = Field(8, ge=1, description="partitions per topic when creating topics")

    consumer_group: str = "insights"
    # A backlog's batches this big amortise the per-batch work (each touched user re-scored
    # once per batch): `make bench`, both sinks, 23.6-24.8k events/s at 5,000, 26.1-27.7k
    # at 20,000, for ~100 MB more resident memory over the three processes.
    batch_size: int = Field(
        20000, ge=1, description="max events per batch (a backlog is read in batches this big)")
    batch_linger_ms: int = Field(
        20, ge=0, description="max wait before a partial batch (under load batches fill first)")
    max_message_bytes: int = Field(64 * 1024, ge=256)
    max_future_seconds: int = Field(300, ge=0, description="tolerated clock skew of `ts`")
    session_timeout_ms: int = Field(6000, ge=1000)
    max_poll_interval_ms: int = Field(
        30000, ge=1000, description="also the rebalance timeout: a join waits up to a share of it"
    )
    retention_months: int | None = Field(
        None, ge=1, description="months of events kept (unset: all); at least 4, see "
        "insights.record.retention")
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
    redis_rebuild: Literal["auto", "stop"] | None = Field(
        None, description="when Redis lost the read model: auto = the consumers rebuild it"
                          " from PostgreSQL, stop = they stop with the command; unset ="
                          " auto on the embedded stack, stop with a configured Redis URL")
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
    web_tab_cache: bool = Field(
        True, description="serve a tab's last document again while no batch landed, the day"
                          " and the locks are the same (web.tabs.cache); false: compute"
                          " every read")
    live_interval_ms: int = Field(
        150, ge=10, description="least time between two recomputes of one live view")
    web_max_header_bytes: int = Field(
        16384, ge=1024, description="largest request line and headers (431 beyond)")
    web_header_timeout_s: float = Field(
        10.0, gt=0, description="time to send a request's line and headers (408 beyond)")
    web_max_body_bytes: int = Field(
        65536, ge=1024, description="largest request body (413 beyond)")
    web_body_timeout_s: float = Field(
        20.0, gt=0, description="time to send a request's body once its headers came (408)")
    web_max_requests: int = Field(
        100, ge=1, description="HTTP requests handled at once by one web process (503 beyond)")
    web_max_connections: int = Field(
        1000, ge=1, description="open HTTP connections per web process, idle keep-alive ones"
                                " included, besides the sockets (503 beyond)")
    web_max_sockets: int = Field(
        1000, ge=1, description="WebSockets open at once on one web process (1013 beyond)")
    web_max_sockets_per_session: int = Field(
        16, ge=1, description="WebSockets one log-in session or API token may hold open on"
                              " one web process (4429 beyond)")
    web_redis_timeout_ms: int = Field(
        750, ge=10, description="the web app's Redis connect and command timeout: a Redis"
                                " silent this long makes the answer a 503")
    web_postgres_timeout_ms: int = Field(
        750, ge=10, description="the web app's PostgreSQL statement timeout and wait for a"
                                " pooled connection; a server silent 250 ms longer is cut off")

    alerts: bool = Field(
        True, description="the consumers evaluate the alert rules on every re-score")
    secret_key: SecretStr | None = Field(
        None, description="Fernet key sealing the alert hooks' signing secrets (`insights"
                          " hooks keygen`); unset = a key file in state_dir on the embedded"
                          " stack, required with a configured PostgreSQL URL")
    dashboard_url: str = Field(
        "http://127.0.0.1:8000", description="the dashboard's address as people reach it:"
                                              " alerts link to users' profiles under it")
    hooks_allow: str = Field(
        "", description="hook hosts or networks allowed beyond public HTTPS addresses,"
                        " comma separated (e.g. 127.0.0.1,::1 for a local receiver):"
                        " plain HTTP and private addresses are accepted for them")
    alerts_group_s: float = Field(
        30.0, ge=0, description="after a notification of a rule, its next alerts wait this"
                                " long and go out together (the first goes out at once)")
    alerts_group_max_users: int = Field(
        20, ge=1, description="users listed by name in one notification (all are counted)")
    alerts_retry_base_s: float = Field(
        1.0, gt=0, description="first retry delay of a failed delivery; doubles each time,"
                               " with jitter")
    alerts_retry_max_s: float = Field(
        600.0, gt=0, description="longest delay between two attempts of a delivery")
    alerts_give_up_s: float = Field(
        86400.0, gt=0, description="a delivery still failing this long after it was made"
                                   " is marked failed")
    alerts_disable_after_s: float = Field(
        259200.0, gt=0, description="a hook failing every delivery for this long is"
                                    " disabled (ADMINs see it)")
    alerts_metrics_port: int = Field(
        9465, ge=0, le=65535, description="the alert dispatcher's Prometheus port; 0 = off")
    alerts_timeout_s: float = Field(
        15.0, gt=0, description="an attempt that got no answer in this time failed")

    @field_validator("retention_months", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # Compose passes an unset variable on as "" (INSIGHTS_RETENTION_MONTHS: ${X:-}).
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("postgres_url")
    @classmethod
    def _plain_postgres_scheme(cls, value: str | None) -> str | None:
        # SQLAlchemy-style URLs are accepted too; psycopg2 wants the plain scheme.
        if value and value.startswith("postgresql+psycopg2://"):
            return "postgresql://" + value.removeprefix("postgresql+psycopg2://")
        return value

    @model_validator(mode="after")
    def _urls_from_parts(self) -> Settings:
        # A URL given whole wins; else one is built from the parts, each percent-encoded,
        # so a password holding '@', '#', '/' or ':' cannot break it.
        if self.postgres_url is None and self.postgres_host:
            self.postgres_url = (
                f"postgresql://{_userinfo(self.postgres_user, self.postgres_password)}"
                f"{self.postgres_host}:{self.postgres_port}/{quote(self.postgres_db, safe='')}")
        if self.redis_url is None and self.redis_host:
            self.redis_url = (f"redis://{_userinfo(self.redis_username, self.redis_password)}"
                              f"{self.redis_host}:{self.redis_port}/{self.redis_db}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then ``INSIGHTS_NAME_FILE`` files."""
        return (init_settings, env_settings, FileValues(settings_cls), dotenv_settings,
                file_secret_settings)

    def rebuilds_redis(self) -> bool:
        """Whether consumers rebuild a lost read model themselves (``redis_rebuild``)."""
        if self.redis_rebuild is None:
            return self.redis_url is None
        return self.redis_rebuild == "auto"

    def topics(self) -> dict[str, str]:
        """Topic kind -> topic name."""
        return {
            kind: getattr(self, f"topic_{kind}") or f"{self.topic_prefix}{kind}"
            for kind in TOPIC_KINDS
        }


def _userinfo(user: str | None, password: SecretStr | None) -> str:
    """``user:password@`` percent-encoded (``""`` with neither; ``:password@`` for Redis's
    password without a user)."""
    if user is None and password is None:
        return ""
    secret = "" if password is None else ":" + quote(password.get_secret_value(), safe="")
    return f"{quote(user or '', safe='')}{secret}@"


class FileValues(PydanticBaseSettingsSource):
    """Setting ``NAME`` read from the file ``INSIGHTS_NAME_FILE`` names (one trailing line
    break dropped), as compose and Kubernetes hand out secrets. Given both ways, the
    setting is refused: which one was meant cannot be told."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: ``__call__`` reads every field at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        environ = {k.upper(): v for k, v in os.environ.items()}
        values: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            variable = f"{ENV_PREFIX}{name.upper()}"
            path = environ.get(variable + FILE_SUFFIX)
            if not path:
                continue
            if variable in environ:
                raise ValueError(f"both {variable} and {variable}{FILE_SUFFIX} are set;"
                                 " keep one")
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"{variable}{FILE_SUFFIX}: cannot read {path}"
                                 f" ({exc.strerror})") from exc
            values[name] = text.removesuffix("\n").removesuffix("\r")
        return values
