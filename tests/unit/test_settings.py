"""CommonSettings: PULSE_* environment variables, defaults and the bootstrap check."""

import os

import pytest
from pydantic import ValidationError

from pulse_common.settings import CommonSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("PULSE_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    settings = CommonSettings()
    assert settings.kafka_idempotence is True
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.kafka_request_timeout_ms == 10_000
    assert settings.kafka_create_topics is True
    assert (settings.db_pool_min, settings.db_pool_max) == (1, 10)
    assert settings.log_level == "INFO"
    assert settings.dsn == "postgresql://postgres@127.0.0.1:5432/pulse"


@pytest.mark.parametrize(
    ("variable", "value", "attribute", "expected"),
    [
        ("PULSE_KAFKA_BOOTSTRAP", "kafka-1:9092,kafka-2:9093", "kafka_bootstrap", "kafka-1:9092,kafka-2:9093"),
        ("PULSE_KAFKA_IDEMPOTENCE", "false", "kafka_idempotence", False),
        ("PULSE_KAFKA_IDEMPOTENCE", "0", "kafka_idempotence", False),
        ("PULSE_KAFKA_CREATE_TOPICS", "false", "kafka_create_topics", False),
        ("PULSE_KAFKA_REQUEST_TIMEOUT_MS", "2500", "kafka_request_timeout_ms", 2500),
        ("PULSE_DB_POOL_MIN", "0", "db_pool_min", 0),
        ("PULSE_DB_POOL_MAX", "25", "db_pool_max", 25),
        ("PULSE_LOG_LEVEL", "DEBUG", "log_level", "DEBUG"),
        ("pulse_log_level", "WARNING", "log_level", "WARNING"),
    ],
)
def test_environment_is_read(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, attribute: str, expected: object
) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(CommonSettings(), attribute) == expected


def test_database_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_DATABASE_URL", "postgresql://pulse:secret@db.internal:6543/metrics")
    assert CommonSettings().dsn == "postgresql://pulse:secret@db.internal:6543/metrics"


def test_unprefixed_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "elsewhere:1234")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    settings = CommonSettings()
    assert (settings.kafka_bootstrap, settings.log_level) == ("127.0.0.1:9092", "INFO")


@pytest.mark.parametrize(
    ("bootstrap", "host"),
    [
        ("kafka", "'kafka'"),
        ("kafka-1:9092,kafka-2", "'kafka-2'"),
        ("kafka-1,kafka-2:9092", "'kafka-1'"),
        ("127.0.0.1", "'127.0.0.1'"),
        ("kafka:", "'kafka:'"),
        ("kafka:http", "'kafka:http'"),
        (":9092", "':9092'"),
        ("kafka:70000", "'kafka:70000'"),
    ],
)
def test_bootstrap_without_port_is_rejected(monkeypatch: pytest.MonkeyPatch, bootstrap: str, host: str) -> None:
    monkeypatch.setenv("PULSE_KAFKA_BOOTSTRAP", bootstrap)
    with pytest.raises(ValidationError) as caught:
        CommonSettings()
    assert f"{host} is not host:port" in str(caught.value)
    assert "kafka_bootstrap" in str(caught.value)


def test_bootstrap_without_port_is_rejected_as_argument() -> None:
    with pytest.raises(ValidationError, match="'broker' is not host:port"):
        CommonSettings(kafka_bootstrap="broker")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PULSE_LOG_LEVEL", "TRACE"),
        ("PULSE_DB_POOL_MAX", "0"),
        ("PULSE_DB_POOL_MIN", "-1"),
        ("PULSE_KAFKA_REQUEST_TIMEOUT_MS", "99"),
        ("PULSE_KAFKA_IDEMPOTENCE", "maybe"),
        ("PULSE_KAFKA_BOOTSTRAP", ""),
        ("PULSE_DATABASE_URL", "mysql://localhost/pulse"),
    ],
)
def test_invalid_values_are_rejected(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        CommonSettings()


def test_ingest_refuses_a_publish_timeout_shorter_than_the_delivery_timeout() -> None:
    from pulse_ingest.settings import IngestSettings

    with pytest.raises(ValidationError, match="must exceed kafka_request_timeout_ms"):
        IngestSettings(publish_timeout_s=5, kafka_request_timeout_ms=5000)
    assert IngestSettings(publish_timeout_s=6, kafka_request_timeout_ms=5000).publish_timeout_s == 6
