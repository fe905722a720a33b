"""A board member reads; no write endpoint anywhere accepts them, and nothing is written or audited."""

from __future__ import annotations

import pytest

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from tests.interfaces.test_access import _web_paths

# Signing out and marking one's own notices read change no governance record; the follow-up page of safety
# reports is open to whoever holds a report's follow-up code, whatever their role (an empty form is refused).
NOT_GOVERNANCE_WRITES = {"/logout/", "/notices/", "/notices/read/", "/safety/follow-up/"}


@pytest.mark.parametrize("path", [p for p in _web_paths() if p not in NOT_GOVERNANCE_WRITES])
def test_board_member_cannot_post_to_any_page(client_for, path):
    client = client_for(Role.BOARD_MEMBER)
    before = AuditEvent.objects.count()
    response = client.post(path, {})
    assert response.status_code in {302, 400, 403, 404, 405}, response.status_code
    if response.status_code == 302:
        # Allowed only as a bounce back to a page with an error, never as a success.
        assert "/login/" not in response["Location"]
    assert AuditEvent.objects.count() == before


def _write_operations() -> list[tuple[str, str]]:
    from medgov.interfaces.api.main import api

    schema = api.get_openapi_schema()
    return [
        (method.upper(), path)
        for path, methods in schema["paths"].items()
        for method in methods
        if method.lower() in {"post", "put", "patch", "delete"}
    ]


@pytest.mark.parametrize(("method", "path"), _write_operations())
def test_board_member_cannot_call_any_write_api(make_user, method, path):
    from django.test import Client

    from medgov.governance.accounts.services import do_create_api_token

    board = make_user(Role.BOARD_MEMBER)
    token = do_create_api_token(board, "board tablet", actor=board)
    before = AuditEvent.objects.count()
    concrete = path
    while "{" in concrete:
        start = concrete.index("{")
        concrete = concrete[:start] + "1" + concrete[concrete.index("}", start) + 1 :]
    response = Client().generic(
        method, concrete, data="{}", content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code in {403, 404, 405, 422}, (response.status_code, response.content[:200])
    assert AuditEvent.objects.count() == before
