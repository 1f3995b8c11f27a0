"""Typed settings read from ``PULSE_*`` environment variables. Build them at start-up: nothing here runs at import."""

from typing import Literal

from pydantic import Field, PostgresDsn, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """What every Pulse process needs: where Postgres and Kafka are and how to talk to them."""

    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")

    database_url: PostgresDsn = Field(
        default=PostgresDsn("postgresql://postgres@127.0.0.1:5432/pulse"),
        description="Postgres holding the control plane (projects, keys) and the projections.",
    )
    db_pool_min: int = Field(default=1, ge=0)
    db_pool_max: int = Field(default=10, ge=1)
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", min_length=1)
    # Idempotent producers are on by default (production Kafka). The embedded dev/test broker rejects them.
    kafka_idempotence: bool = True
    kafka_request_timeout_ms: int = Field(default=10_000, ge=100)
    # Allocations between two collections of the garbage collector's young generation (CPython's default: 700);
    # see pulse_common.garbage_collector.
    gc_young_threshold: int = Field(default=50_000, ge=100)
    # How clients authenticate to Kafka: PLAINTEXT locally; on Kubernetes SASL_SSL with SCRAM-SHA-512 (a Strimzi
    # KafkaUser's password) and the cluster CA certificate.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    # Create missing topics at start-up with the partition counts of pulse_common.topics (off where an operator
    # manages topics, e.g. Strimzi KafkaTopic objects).
    kafka_create_topics: bool = True
    # A consumer exits non-zero (and resumes from its stored offsets when restarted) after this long without a broker.
    kafka_unreachable_exit_s: float = Field(default=30.0, gt=0)
    # A consumer waits this long for Postgres to answer again (its batch is applied once it does) before exiting.
    database_unreachable_exit_s: float = Field(default=60.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("kafka_bootstrap")
    @classmethod
    def _hosts_have_ports(cls, value: str) -> str:
        for address in value.split(","):
            host, _, port = address.strip().rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{address!r} is not host:port: use host:port[,host:port...]")
        return value

    @model_validator(mode="after")
    def _sasl_has_credentials(self) -> "CommonSettings":
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"kafka_security_protocol={self.kafka_security_protocol} needs kafka_sasl_username and "
                "kafka_sasl_password"
            )
        return self

    @property
    def dsn(self) -> str:
        return str(self.database_url)


class ReadApiSettings(CommonSettings):
    """What a read API (metrics, feedback) adds: how long a key lookup is cached and the widest date range."""

    key_cache_ttl_s: float = Field(default=5.0, ge=0)
    max_range_days: int = Field(default=366, ge=1)
