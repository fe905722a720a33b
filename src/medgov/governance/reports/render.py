"""The board report as a PDF: HTML from the snapshot, laid out by WeasyPrint with local fonts only."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string


class ExternalResourceRefused(ValueError):
    """The report tried to load something from outside the machine."""


def _local_only(url: str, *args: Any, **kwargs: Any) -> Any:
    # The report embeds its charts (inline SVG) and uses installed fonts; nothing is fetched, least of all from
    # the network. data: URLs are all WeasyPrint may resolve.
    if url.startswith("data:"):
        from weasyprint.urls import default_url_fetcher

        return default_url_fetcher(url, *args, **kwargs)
    raise ExternalResourceRefused(f"the board report may not load {url!r}")


def report_html(snapshot: dict[str, Any], *, report_id: int | None, generated_at: str) -> str:
    return render_to_string(
        "reports/pdf/board_report.html",
        {"snapshot": snapshot, "report_id": report_id, "generated_at": generated_at},
    )


def report_pdf(html: str) -> bytes:
    from weasyprint import HTML

    pdf = HTML(string=html, url_fetcher=_local_only, base_url=None).write_pdf()
    assert pdf is not None
    return bytes(pdf)
