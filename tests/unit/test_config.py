"""Settings come from LEDGER_* variables; bad values name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.config import ConfigError, load_settings


def test_an_empty_environment_selects_the_embedded_database_in_dot_ledger():
    settings = load_settings({})
    assert settings.database_url is None
    assert settings.uses_embedded_database
    assert settings.data_dir == Path(".ledger")
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_variables_are_read_into_typed_fields():
    settings = load_settings(
        {
            "LEDGER_DATABASE_URL": "postgresql://u@db:5432/ledger",
            "LEDGER_DATA_DIR": "/var/lib/ledger",
            "LEDGER_PORT": "9001",
            "LEDGER_LOG_LEVEL": "DEBUG",
            "LEDGER_POOL_MAX_SIZE": "30",
        }
    )
    assert settings.database_url == "postgresql://u@db:5432/ledger"
    assert not settings.uses_embedded_database
    assert settings.data_dir == Path("/var/lib/ledger")
    assert settings.port == 9001
    assert settings.log_level == "debug"
    assert settings.pool_max_size == 30


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LEDGER_PORT", "eighty"),
        ("LEDGER_PORT", "70000"),
        ("LEDGER_LOG_LEVEL", "loud"),
        ("LEDGER_DATABASE_URL", "mysql://x"),
        ("LEDGER_POOL_MIN_SIZE", "0"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: value})


def test_a_database_url_with_a_password_is_never_echoed_in_the_error():
    with pytest.raises(ConfigError) as error:
        load_settings({"LEDGER_DATABASE_URL": "mysql://user:s3cret@host/db"})
    assert "s3cret" not in str(error.value)


def test_a_pool_smaller_at_most_than_at_least_is_refused():
    with pytest.raises(ConfigError, match="LEDGER_POOL_MAX_SIZE"):
        load_settings({"LEDGER_POOL_MIN_SIZE": "10", "LEDGER_POOL_MAX_SIZE": "5"})
