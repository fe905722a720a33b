"""Section providers of the board report, one module per domain; importing them registers them.

A domain's module is imported only when its app is installed, so the report works while a domain is absent and
lists its sections as not included.
"""

from django.apps import apps

from medgov.governance.reports.providers import quality  # noqa: F401

if apps.is_installed("medgov.governance.safety"):
    from medgov.governance.reports.providers import safety  # noqa: F401
if apps.is_installed("medgov.governance.staff"):
    from medgov.governance.reports.providers import staff  # noqa: F401
