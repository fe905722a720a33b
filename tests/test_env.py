from pathlib import Path

import pytest

from medgov.config.env import ConfigurationError, Env


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://user@host/db", "DATABASE_URL is malformed: unsupported scheme 'mysql'"),
        ("postgres://user:secret@host:99999/db", "DATABASE_URL is malformed: bad port"),
        ("postgres://user:secret@host/", "DATABASE_URL is malformed: no database name"),
        ("not a url", "DATABASE_URL is malformed: unsupported scheme '(none)'"),
    ],
    ids=["unsupported-scheme", "bad-port", "no-database-name", "not-a-url"],
)
def test_malformed_database_url_names_the_variable(url, message):
    with pytest.raises(ConfigurationError) as error:
        Env({"DATABASE_URL": url}).database("DATABASE_URL", Path("/tmp/x.sqlite3"))
    assert str(error.value).startswith(message)


def test_database_url_password_is_redacted_in_errors():
    with pytest.raises(ConfigurationError) as error:
        Env({"DATABASE_URL": "postgres://user:secret@host:99999/db"}).database("DATABASE_URL", Path("/tmp/x"))
    assert "secret" not in str(error.value)


def test_postgres_url_parses():
    config = Env({"DATABASE_URL": "postgres://u:p@localhost:5433/medgov"}).database("DATABASE_URL", Path("/tmp/x"))
    assert (config["ENGINE"], config["NAME"], config["PORT"], config["HOST"]) == (
        "django.db.backends.postgresql",
        "medgov",
        5433,
        "localhost",
    )


def test_sqlite_is_the_default(tmp_path):
    config = Env({}).database("DATABASE_URL", tmp_path / "sub" / "db.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert (tmp_path / "sub").is_dir()


@pytest.mark.parametrize(
    ("reader", "value", "message"),
    [
        ("get_bool", "maybe", "MEDGOV_X='maybe' is not a boolean"),
        ("get_int", "ten", "MEDGOV_X='ten' is not an integer"),
    ],
)
def test_typed_readers_fail_fast_naming_the_variable(reader, value, message):
    env = Env({"MEDGOV_X": value})
    with pytest.raises(ConfigurationError, match=message):
        getattr(env, reader)("MEDGOV_X", 1)


def test_required_string_missing():
    with pytest.raises(ConfigurationError, match="MEDGOV_SECRET is required but not set"):
        Env({}).get_str("MEDGOV_SECRET")
