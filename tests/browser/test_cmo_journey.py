"""The CMO's path through the system: a concern signal on the cockpit, drill-down to the unit and its
practitioners, the SPC and funnel charts, then the board report as a PDF."""

from __future__ import annotations

import datetime as dt
import subprocess

from django.core.management import call_command

from medgov.governance.accounts.choices import Role
from medgov.governance.quality import detection
from medgov.governance.quality import services as quality
from medgov.governance.quality.choices import ImprovementDirection
from tests.browser.conftest import ARTIFACTS
from tests.conftest import TEST_PASSWORD
from tests.governance.reports.conftest import MORTALITY, months

HOSPITALS = {"hosp-north": "Northgate Hospital", "hosp-river": "Riverside Hospital"}
DEPARTMENTS = {
    # key: (label, hospital, deaths per 1,000 in the latest year)
    "dept-north-med": ("Medicine (Northgate)", "hosp-north", 24),
    "dept-north-surg": ("Surgery (Northgate)", "hosp-north", 22),
    "dept-river-med": ("Medicine (Riverside)", "hosp-river", 23),
    "dept-river-surg": ("Surgery (Riverside)", "hosp-river", 21),
    "dept-river-onc": ("Oncology (Riverside)", "hosp-river", 60),
    "dept-north-card": ("Cardiology (Northgate)", "hosp-north", 23),
    "dept-river-card": ("Cardiology (Riverside)", "hosp-river", 24),
    "dept-north-ortho": ("Orthopaedics (Northgate)", "hosp-north", 22),
    "dept-river-ortho": ("Orthopaedics (Riverside)", "hosp-river", 23),
    "dept-north-neuro": ("Neurology (Northgate)", "hosp-north", 24),
}


def _row(grain, start, end, dimension, key, label, numerator, denominator, parent=""):
    return {
        "measure_id": MORTALITY.measure_id,
        "version": MORTALITY.version,
        "grain": grain,
        "period_start": start,
        "period_end": end,
        "dimension": dimension,
        "stratum_key": key,
        "stratum_label": label,
        "parent_key": parent,
        "numerator": numerator,
        "denominator": denominator,
        "rate": numerator / denominator,
    }


def _hospital_data():
    rows = []
    for index, month in enumerate(months(dt.date(2023, 1, 1), 45)):
        end = month.replace(day=28)
        rows.append(_row("month", month, end, "all", "all", "Whole organisation", 110 + index % 7, 5000))
        # Oncology shifts up from April 2026: a special cause on its own chart.
        deaths = 24 + index % 3 if month < dt.date(2026, 4, 1) else 55 + index % 3
        rows.append(
            _row(
                "month", month, end, "department", "dept-river-onc", "Oncology (Riverside)", deaths, 1000, "hosp-river"
            )
        )
    year = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    rows.append(_row("year", *year, "all", "all", "Whole organisation", 1400, 60000))
    for key, label in HOSPITALS.items():
        rows.append(_row("year", *year, "hospital", key, label, 700, 30000, "all"))
    for key, (label, hospital, per_thousand) in DEPARTMENTS.items():
        rows.append(_row("year", *year, "department", key, label, per_thousand * 12, 12000, hospital))
    for number, deaths in enumerate([30, 28, 31, 95, 29, 30, 27, 32, 29, 31]):
        rows.append(
            _row(
                "year",
                *year,
                "practitioner",
                f"prac-{number}",
                f"Dr Practitioner {number}",
                deaths,
                1200,
                "dept-river-onc",
            )
        )
    rows.append(
        {
            **_row("quarter", dt.date(2026, 7, 1), dt.date(2026, 9, 30), "all", "all", "Whole organisation", 66, 3000),
            "rate_low": 0.0173,
            "rate_high": 0.0279,
        }
    )
    return rows


def test_the_cmo_follows_a_concern_signal_down_to_practitioners_and_takes_the_board_report(
    live_server, page, make_user, settings, tmp_path, screenshot
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    cmo = make_user(Role.CMO, display_name="Dr. Alex Morgan")
    (mortality,) = quality.do_register_measures([MORTALITY], actor=None)
    refresh = quality.do_start_refresh(warehouse="test.duckdb", actor=None)
    quality.do_store_results(refresh, _hospital_data(), actor=None)
    quality.do_raise_signals(detection.detect(mortality), refresh=refresh, actor=None)
    quality.do_finish_refresh(refresh, actor=None)
    quality.do_set_target(
        mortality,
        value=0.025,
        direction=ImprovementDirection.DECREASE,
        owner=cmo,
        effective_from=dt.date(2025, 1, 1),
        reason="Board goal",
        actor=cmo,
    )
    page.set_default_timeout(60000)

    page.goto(f"{live_server.url}/")
    page.get_by_label("User name").fill(cmo.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.locator(".plotly-chart .main-svg").first.wait_for()
    screenshot("cockpit")
    concern = page.get_by_role("link", name="In-hospital mortality in Oncology (Riverside): Above UCL since Apr 2026")
    concern.click()
    page.wait_for_url("**/quality/signals/*/")
    page.locator("#spc-signal .main-svg").first.wait_for()

    page.get_by_role("link", name="Open the measure").click()
    page.locator("#spc-organisation .main-svg").first.wait_for()
    page.get_by_label("Break down by").select_option("hospital")
    page.get_by_role("button", name="Show").click()
    riverside = page.get_by_role("row", name="Riverside Hospital")
    riverside.get_by_role("link", name="Departments").click()
    page.wait_for_url("**dimension=department&parent=hosp-river")
    assert page.get_by_role("row", name="Oncology (Riverside)").is_visible()
    assert page.get_by_role("row", name="Medicine (Northgate)").count() == 0
    page.locator("#funnel-department .main-svg").first.wait_for()
    funnel_table = page.locator("details.chart-data").nth(1)
    funnel_table.locator("summary").click()
    assert funnel_table.get_by_role("row", name="Oncology (Riverside)").get_by_role("cell").last.inner_text() == "high"
    page.get_by_role("row", name="Oncology (Riverside)").get_by_role("link", name="Practitioners").click()
    page.wait_for_url("**dimension=practitioner&parent=dept-river-onc")
    assert page.get_by_role("row", name="Dr Practitioner 3").is_visible()
    page.locator("#funnel-practitioner .main-svg").first.wait_for()
    screenshot("measure-page")

    page.get_by_role("link", name="Reports").click()
    page.get_by_label("Quarter to generate").select_option("2026Q3")
    page.get_by_role("button", name="Generate PDF").click()
    call_command("db_worker", "--batch", "--no-startup-delay", "--queue-name", "default")
    download_link = page.get_by_role("link", name="Download PDF")
    download_link.wait_for(timeout=30000)
    with page.expect_download() as download_info:
        download_link.click()
    ARTIFACTS.mkdir(exist_ok=True)
    pdf_path = ARTIFACTS / "cmo-board-report.pdf"
    download_info.value.save_as(pdf_path)
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True)
    lines = [" ".join(line.split()) for line in text.stdout.splitlines()]
    assert any(line.startswith("In-hospital mortality Lower is better 2.2 %") for line in lines), lines[:40]
    assert "Dr Practitioner" not in text.stdout
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf_path),
            str(ARTIFACTS / "cmo-board-report-page-1"),
        ],
        check=True,
    )
