from __future__ import annotations

import datetime as dt
import json

import pytest

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.quality import services
from medgov.governance.quality.models import Signal, Target


@pytest.fixture
def measure_with_results(db):
    (measure,) = services.do_register_measures(
        [
            services.MeasureDescription(
                measure_id="mortality-inpatient",
                version="1.0.0",
                title="In-hospital mortality",
                description="Deaths in hospital among inpatient admissions.",
                rationale="",
                source="CMS",
                scoring="proportion",
                improvement_direction="decrease",
                unit_label="%",
                is_headline=True,
            )
        ],
        actor=None,
    )
    rows = []
    for month in range(24):
        start = dt.date(2025 + month // 12, month % 12 + 1, 1)
        rows.append(
            {
                "measure_id": "mortality-inpatient",
                "version": "1.0.0",
                "grain": "month",
                "period_start": start,
                "period_end": start,
                "dimension": "all",
                "stratum_key": "all",
                "stratum_label": "All",
                "denominator": 500,
                "numerator": 15 + (month % 3),
                "rate": (15 + month % 3) / 500,
            }
        )
    for index, (numerator, label) in enumerate(
        [(30, "Cardiology"), (28, "Medicine"), (31, "Surgery"), (70, "Oncology <b>unit</b>")]
    ):
        rows.append(
            {
                "measure_id": "mortality-inpatient",
                "version": "1.0.0",
                "grain": "year",
                "period_start": dt.date(2026, 1, 1),
                "period_end": dt.date(2026, 12, 31),
                "dimension": "department",
                "stratum_key": f"dept-{index}",
                "stratum_label": label,
                "denominator": 1000,
                "numerator": numerator,
                "rate": numerator / 1000,
            }
        )
    refresh = services.do_start_refresh(warehouse="test", actor=None)
    services.do_store_results(refresh, rows, actor=None)
    return measure


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (None, 403),
        (Role.CLINICIAN, 403),
        (Role.BOARD_MEMBER, 200),
        (Role.DEPARTMENT_CHIEF, 200),
        (Role.QUALITY_SAFETY, 200),
        (Role.CMO, 200),
    ],
    ids=["no-role", "clinician", "board", "chief", "quality", "cmo"],
)
def test_quality_pages_matrix(client_for, measure_with_results, role, status):
    client = client_for(*([role] if role else []))
    assert client.get("/quality/").status_code == status
    assert client.get("/quality/measures/mortality-inpatient/").status_code == (404 if status == 403 else 200)
    assert client.get("/quality/signals/").status_code == status


def test_measure_page_renders_spc_and_funnel_from_stored_results(client_for, measure_with_results):
    client = client_for(Role.QUALITY_SAFETY)
    html = client.get("/quality/measures/mortality-inpatient/").content.decode()
    assert 'data-plotly="spc-organisation-data"' in html
    assert 'data-plotly="funnel-department-data"' in html
    start = html.index('<script id="spc-organisation-data" type="application/json">') + len(
        '<script id="spc-organisation-data" type="application/json">'
    )
    figure = json.loads(html[start : html.index("</script>", start)])
    assert len(figure["data"][3]["y"]) == 24
    assert figure["data"][3]["y"][0] == pytest.approx(3.0)
    assert "Oncology &lt;b&gt;unit&lt;/b&gt;" in html
    assert "Oncology <b>unit</b>" not in html


def test_unknown_measure_is_404(client_for, measure_with_results):
    assert client_for(Role.CMO).get("/quality/measures/nope/").status_code == 404


def test_setting_a_target_from_the_page(client_for, measure_with_results):
    client = client_for(Role.QUALITY_SAFETY)
    response = client.post(
        "/quality/measures/mortality-inpatient/target/",
        {"value": "0.03", "effective_from": "2026-01-01", "reason": "FY26 goal"},
    )
    assert response.status_code == 302
    target = Target.objects.get()
    assert (target.value, target.changes.get().reason) == (0.03, "FY26 goal")
    page = client.get("/quality/measures/mortality-inpatient/").content.decode()
    assert "FY26 goal" in page


@pytest.mark.parametrize("role", [Role.BOARD_MEMBER, Role.DEPARTMENT_CHIEF], ids=["board", "chief"])
def test_read_only_roles_cannot_set_targets_or_act_on_signals(client_for, measure_with_results, role):
    (signal,) = services.do_raise_signals(
        [
            services.SignalCandidate(
                measure=measure_with_results,
                dimension="department",
                stratum_key="dept-3",
                stratum_label="Oncology",
                kind="funnel",
                direction="concern",
                rule="Outside 99.8 % funnel limits",
                detail="",
                first_period=dt.date(2026, 1, 1),
                last_period=dt.date(2026, 12, 31),
                chart={},
            )
        ],
        refresh=None,
        actor=None,
    )
    client = client_for(role)
    before = AuditEvent.objects.count()
    response = client.post(
        "/quality/measures/mortality-inpatient/target/",
        {"value": "0.03", "effective_from": "2026-01-01", "reason": "x"},
    )
    assert response.status_code == 403
    response = client.post(f"/quality/signals/{signal.pk}/acknowledge/")
    assert response.status_code == 403
    assert (Target.objects.count(), Signal.objects.get().state, AuditEvent.objects.count()) == (0, "new", before)


def test_signal_workflow_through_the_pages(client_for, measure_with_results):
    (signal,) = services.do_raise_signals(
        [
            services.SignalCandidate(
                measure=measure_with_results,
                dimension="department",
                stratum_key="dept-3",
                stratum_label="Oncology",
                kind="funnel",
                direction="concern",
                rule="Outside 99.8 % funnel limits",
                detail="",
                first_period=dt.date(2026, 1, 1),
                last_period=dt.date(2026, 12, 31),
                chart={},
            )
        ],
        refresh=None,
        actor=None,
    )
    client = client_for(Role.CMO)
    assert "Oncology" in client.get("/").content.decode()
    client.post(f"/quality/signals/{signal.pk}/acknowledge/")
    response = client.post(f"/quality/signals/{signal.pk}/close/", {"reason": "", "action_reference": ""}, follow=True)
    assert "give a reason for closing the signal" in response.content.decode()
    client.post(
        f"/quality/signals/{signal.pk}/close/",
        {"reason": "Case mix explained by new oncology service", "action_reference": ""},
    )
    signal.refresh_from_db()
    assert (signal.state, signal.close_reason) == ("closed", "Case mix explained by new oncology service")


def test_equity_tables_suppress_small_cells(client_for, measure_with_results):
    rows = [
        {
            "measure_id": "mortality-inpatient",
            "version": "1.0.0",
            "grain": "year",
            "period_start": dt.date(2026, 1, 1),
            "period_end": dt.date(2026, 12, 31),
            "dimension": "race",
            "stratum_key": key,
            "stratum_label": label,
            "denominator": denominator,
            "numerator": numerator,
            "rate": numerator / denominator,
        }
        for key, label, numerator, denominator in [
            ("w", "White", 40, 500),
            ("b", "Black", 5, 80),
            ("a", "Asian", 12, 150),
            ("o", "Other", 30, 300),
        ]
    ]
    refresh = services.do_start_refresh(warehouse="test", actor=None)
    from medgov.governance.quality.models import MeasureResult

    existing = [
        {**{f: getattr(r, f) for f in services.RESULT_FIELDS}, "measure_id": "mortality-inpatient", "version": "1.0.0"}
        for r in MeasureResult.objects.all()
    ]
    services.do_store_results(refresh, existing + rows, actor=None)
    html = client_for(Role.BOARD_MEMBER).get("/quality/measures/mortality-inpatient/").content.decode()
    assert '<td>Black</td><td class="num">80</td><td class="num">&lt;11</td>' in html
    assert '<td>White</td><td class="num">500</td><td class="num">40</td><td class="num">8.0</td>' in html


def test_a_department_chief_sees_their_department_first(client_for, measure_with_results):
    rows = []
    for month in range(12):
        start = dt.date(2026, month + 1, 1)
        rows.append(
            {
                "measure_id": "mortality-inpatient",
                "version": "1.0.0",
                "grain": "month",
                "period_start": start,
                "period_end": start,
                "dimension": "department",
                "stratum_key": "dept-onc",
                "stratum_label": "Oncology (Riverside)",
                "denominator": 100,
                "numerator": 5,
                "rate": 0.05,
            }
        )
    rows.append(
        {
            "measure_id": "mortality-inpatient",
            "version": "1.0.0",
            "grain": "quarter",
            "period_start": dt.date(2026, 7, 1),
            "period_end": dt.date(2026, 9, 30),
            "dimension": "department",
            "stratum_key": "dept-onc",
            "stratum_label": "Oncology (Riverside)",
            "denominator": 300,
            "numerator": 15,
            "rate": 0.05,
        }
    )
    from medgov.governance.quality.models import MeasureResult

    existing = [
        {**{f: getattr(r, f) for f in services.RESULT_FIELDS}, "measure_id": "mortality-inpatient", "version": "1.0.0"}
        for r in MeasureResult.objects.all()
    ]
    services.do_store_results(services.do_start_refresh(warehouse="t", actor=None), existing + rows, actor=None)
    chief = client_for(Role.DEPARTMENT_CHIEF, department="Oncology")
    html = chief.get("/").content.decode()
    assert "Your department: Oncology (Riverside)" in html
    assert html.index("Your department") < html.index("Needs attention now")
    assert "5.0 %" in html
    board_html = client_for(Role.BOARD_MEMBER).get("/").content.decode()
    assert "Your department" not in board_html
    assert "Board quality &amp; safety reports" in board_html


def test_the_breakdown_table_suppresses_small_counts_for_viewers_without_patient_access(
    client_for, measure_with_results
):
    from medgov.governance.quality.models import MeasureResult

    rows = [
        {**{f: getattr(r, f) for f in services.RESULT_FIELDS}, "measure_id": "mortality-inpatient", "version": "1.0.0"}
        for r in MeasureResult.objects.all()
    ]
    rows.append(
        {
            "measure_id": "mortality-inpatient",
            "version": "1.0.0",
            "grain": "year",
            "period_start": dt.date(2026, 1, 1),
            "period_end": dt.date(2026, 12, 31),
            "dimension": "department",
            "stratum_key": "dept-small",
            "stratum_label": "Small unit",
            "denominator": 60,
            "numerator": 4,
            "rate": 4 / 60,
        }
    )
    services.do_store_results(services.do_start_refresh(warehouse="t", actor=None), rows, actor=None)
    board_html = (
        client_for(Role.BOARD_MEMBER)
        .get("/quality/measures/mortality-inpatient/?dimension=department")
        .content.decode()
    )
    assert (
        '<td>Small unit</td>\n      <td class="num">60</td>\n      <td class="num">&lt;11</td>\n      <td class="num">suppressed</td>'
        in board_html
    )
    cmo_html = client_for(Role.CMO).get("/quality/measures/mortality-inpatient/?dimension=department").content.decode()
    assert (
        '<td>Small unit</td>\n      <td class="num">60</td>\n      <td class="num">4</td>\n      <td class="num">6.7 %</td>'
        in cmo_html
    )
