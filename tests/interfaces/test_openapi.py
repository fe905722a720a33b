import json

from medgov.interfaces.api.main import api
from tests.anchors import REPO_ROOT


def test_committed_openapi_schema_matches_the_code():
    committed = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
    current = json.loads(json.dumps(api.get_openapi_schema(), sort_keys=True))
    assert committed == current, "docs/openapi.json is out of date: run `make openapi` and commit it"
