import subprocess

from django.core.management import call_command

from medgov.governance.accounts.choices import Role
from medgov.governance.reports.choices import ReportStatus
from medgov.governance.reports.models import BoardReport
from tests.browser.conftest import ARTIFACTS
from tests.conftest import TEST_PASSWORD
from tests.governance.reports.conftest import create_board_data


def test_a_quality_officer_generates_the_board_report_and_downloads_the_pdf(
    live_server,
    page,
    make_user,
    settings,
    tmp_path,
    screenshot,
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    create_board_data(make_user(Role.CMO))
    officer = make_user(Role.QUALITY_SAFETY, display_name="Jordan Lee")
    page.set_default_timeout(60000)  # the PDF is laid out while the page polls
    page.goto(f"{live_server.url}/login/?next=/reports/")
    page.get_by_label("User name").fill(officer.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/reports/")

    page.get_by_label("Quarter to generate").select_option("2026Q3")
    page.get_by_role("button", name="Generate PDF").click()
    panel = page.locator(".report-progress").first
    panel.wait_for()
    assert panel.get_attribute("data-status") == "queued"
    report = BoardReport.objects.get()
    assert report.status == ReportStatus.QUEUED

    # The request returned at once; a task worker picks the report up from the queue.
    call_command("db_worker", "--batch", "--no-startup-delay", "--queue-name", "default")
    download_link = page.get_by_role("link", name="Download PDF")
    download_link.wait_for(timeout=30000)
    assert panel.get_attribute("data-status") == "succeeded"

    with page.expect_download() as download_info:
        download_link.click()
    ARTIFACTS.mkdir(exist_ok=True)
    pdf_path = ARTIFACTS / "board-report.pdf"
    download_info.value.save_as(pdf_path)
    assert pdf_path.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True)
    assert "Readmission within 30 days Lower is better 14.2 % 13.0\u201315.4 % 12.0 % Red: off target" in [
        " ".join(line.split()) for line in text.stdout.splitlines()
    ]
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
            str(ARTIFACTS / "board-report-page-1"),
        ],
        check=True,
    )
    assert (ARTIFACTS / "board-report-page-1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    page.get_by_role("link", name="Read the stored report").click()
    page.wait_for_url(f"{live_server.url}/reports/board/stored/{report.pk}/")
    page.locator("#quality_spc-0 .main-svg").first.wait_for()
    assert page.get_by_role("heading", level=1).inner_text() == "Board quality & safety report, Q3 2026"
    screenshot("board-report")
