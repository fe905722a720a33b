import os
import subprocess
import sys

import pytest


def _medgov(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "medgov.interfaces.cli.main", *args],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://x/y",
            "medgov: error: DATABASE_URL is malformed: unsupported scheme 'mysql' in 'mysql://x/y'; use postgres://user:password@host:port/name or sqlite:///path",
        ),
        (
            "postgres://u:p@h:notaport/db",
            "medgov: error: DATABASE_URL is malformed: bad port in 'postgres://u:***@h:notaport/db'",
        ),
    ],
)
def test_malformed_database_url_ends_with_one_line(url, message):
    result = _medgov("migrate", DATABASE_URL=url)
    assert result.returncode == 2
    assert result.stderr.strip() == message


def test_unknown_role_in_createuser_ends_with_one_line():
    result = _medgov("createuser", "someone", "--role", "surgeon", "--password", "x")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "medgov: error: unknown role 'surgeon'; valid roles are: administrator, auditor, board_member, clinician, "
        "cmo, department_chief, medical_staff_office, quality_safety"
    ]


def test_createuser_creates_and_refuses_weak_passwords(tmp_path):
    isolated = {"MEDGOV_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    assert _medgov("migrate", **isolated).returncode == 0
    result = _medgov("createuser", "someone", "--role", "clinician", "--password", "short", **isolated)
    assert result.returncode == 2
    assert result.stderr.strip() == "medgov: error: This password is too short. It must contain at least 12 characters."
    result = _medgov(
        "createuser",
        "someone",
        "--role",
        "clinician",
        "--role",
        "cmo",
        "--password",
        "a-long-enough-passphrase",
        **isolated,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "created someone with roles clinician, cmo")
