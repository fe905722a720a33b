"""Playwright against the system Chromium from Debian's packages (browser downloads are impossible here)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.anchors import REPO_ROOT

CHROMIUM = os.environ.get("MEDGOV_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
    if not Path(CHROMIUM).exists():
        if os.environ.get("MEDGOV_REQUIRE_BROWSER") == "1":
            raise pytest.UsageError(f"MEDGOV_REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM}")
        skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page: Any) -> Any:
    def take(name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(autouse=True)
def _audit_trail_flushable_on_sqlite(django_db_setup: Any, django_db_blocker: Any) -> None:
    """Live-server tests end with a flush (DELETE on SQLite), which the append-only triggers refuse.

    Drop the triggers for the test; the root conftest restores them before the next test.
    """
    from django.db import connection

    from tests import conftest

    if connection.vendor != "sqlite":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for statement in conftest.audit_trigger_sql().SQLITE_REVERSE:
            cursor.execute(statement)
    conftest.AUDIT_TRIGGERS["dropped"] = True
