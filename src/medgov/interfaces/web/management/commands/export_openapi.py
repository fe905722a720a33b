import json
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print the REST API's OpenAPI schema (committed as docs/openapi.json and checked for drift)."

    def handle(self, *args: Any, **options: Any) -> None:
        from medgov.interfaces.api.main import api

        self.stdout.write(json.dumps(api.get_openapi_schema(), indent=2, sort_keys=True))
