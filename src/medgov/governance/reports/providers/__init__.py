"""Section providers of the board report, one module per domain; importing them registers them."""

from medgov.governance.reports.providers import quality  # noqa: F401
