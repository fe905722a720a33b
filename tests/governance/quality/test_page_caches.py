"""The cockpit and the measure page serve cached parts: every change shows on the next load, and no viewer gets a
part computed for another who may see more."""

from __future__ import annotations

import datetime as dt

from medgov.governance.accounts.choices import Role
from medgov.governance.quality import services
from medgov.governance.quality.choices import ImprovementDirection
from medgov.governance.quality.models import MeasureResult
from tests.governance.quality.test_quality_pages import measure_with_results  # noqa: F401  (fixture)

CONCERN_TEXT = "In-hospital mortality in Oncology: Outside 99.8 % funnel limits since Jan 2026"


def raise_concern(measure, label="Oncology", key="dept-3"):
    (signal,) = services.do_raise_signals(
        [
            services.SignalCandidate(
                measure=measure,
                dimension="department",
                stratum_key=key,
                stratum_label=label,
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
    return signal


def department_rows(key, label, numerator):
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
                "stratum_key": key,
                "stratum_label": label,
                "denominator": 100,
                "numerator": numerator,
                "rate": numerator / 100,
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
            "stratum_key": key,
            "stratum_label": label,
            "denominator": 300,
            "numerator": 3 * numerator,
            "rate": numerator / 100,
        }
    )
    return rows


def store_again(extra_rows):
    existing = [
        {**{f: getattr(r, f) for f in services.RESULT_FIELDS}, "measure_id": "mortality-inpatient", "version": "1.0.0"}
        for r in MeasureResult.objects.all()
    ]
    services.do_store_results(services.do_start_refresh(warehouse="t", actor=None), existing + extra_rows, actor=None)


def test_a_new_concern_signal_shows_on_the_next_cockpit_load(client_for, measure_with_results):  # noqa: F811
    client = client_for(Role.CMO)
    assert CONCERN_TEXT not in client.get("/").content.decode()

    raise_concern(measure_with_results)

    assert CONCERN_TEXT in client.get("/").content.decode()


def test_a_closed_signal_leaves_the_cockpit_on_the_next_load(client_for, measure_with_results):  # noqa: F811
    signal = raise_concern(measure_with_results)
    client = client_for(Role.CMO)
    assert CONCERN_TEXT in client.get("/").content.decode()

    services.do_close_signal(signal, reason="Explained by case mix", actor=client.user)

    assert CONCERN_TEXT not in client.get("/").content.decode()


def test_new_results_show_on_the_next_cockpit_load(client_for, measure_with_results):  # noqa: F811
    chief = client_for(Role.DEPARTMENT_CHIEF, department="Neurology")
    assert "Your department" not in chief.get("/").content.decode()

    store_again(department_rows("dept-neuro", "Neurology (Riverside)", 5))

    html = chief.get("/").content.decode()
    assert "Your department: Neurology (Riverside)" in html
    assert "5.0 %" in html


def test_each_department_chief_sees_their_own_department_first(client_for, measure_with_results):  # noqa: F811
    store_again(
        department_rows("dept-neuro", "Neurology (Riverside)", 5)
        + department_rows("dept-pulm", "Pulmonology (North)", 8)
    )
    neurology = client_for(Role.DEPARTMENT_CHIEF, department="Neurology").get("/").content.decode()
    pulmonology = client_for(Role.DEPARTMENT_CHIEF, department="Pulmonology").get("/").content.decode()
    board = client_for(Role.BOARD_MEMBER).get("/").content.decode()

    assert neurology.index("Your department: Neurology (Riverside)") < neurology.index("Needs attention now")
    assert pulmonology.index("Your department: Pulmonology (North)") < pulmonology.index("Needs attention now")
    assert "Neurology (Riverside)" not in pulmonology
    assert "Your department" not in board


def test_a_board_member_never_gets_the_cmos_cached_parts(client_for, measure_with_results):  # noqa: F811
    rows = [
        {
            "measure_id": "mortality-inpatient",
            "version": "1.0.0",
            "grain": "year",
            "period_start": dt.date(2026, 1, 1),
            "period_end": dt.date(2026, 12, 31),
            "dimension": "hospital",
            "stratum_key": key,
            "stratum_label": label,
            "denominator": denominator,
            "numerator": numerator,
            "rate": numerator / denominator,
        }
        for key, label, numerator, denominator in [("h1", "North", 7, 400), ("h2", "South", 40, 900)]
    ]
    store_again(rows)
    page = "/quality/measures/mortality-inpatient/?dimension=hospital"
    cmo_html = client_for(Role.CMO).get(page).content.decode()
    board_html = client_for(Role.BOARD_MEMBER).get(page).content.decode()
    cmo_again = client_for(Role.CMO).get(page).content.decode()

    assert '<td class="num">7</td>' in cmo_html
    assert '<td class="num">7</td>' not in board_html
    assert "suppressed" in board_html
    assert cmo_again.count("suppressed") == cmo_html.count("suppressed")


def test_a_new_target_shows_on_the_next_measure_page_load(client_for, measure_with_results):  # noqa: F811
    client = client_for(Role.CMO)
    page = "/quality/measures/mortality-inpatient/"
    assert '"name": "Target"' not in client.get(page).content.decode()

    services.do_set_target(
        measure_with_results,
        value=0.025,
        direction=ImprovementDirection.DECREASE,
        owner=client.user,
        effective_from=dt.date(2026, 1, 1),
        reason="Board goal",
        actor=client.user,
    )

    html = client.get(page).content.decode()
    assert '"name": "Target"' in html
    assert "Board goal" in html


def test_a_signal_and_its_state_change_show_on_the_next_measure_page_load(client_for, measure_with_results):  # noqa: F811
    client = client_for(Role.CMO)
    page = "/quality/measures/mortality-inpatient/"
    assert "No signals for this measure." in client.get(page).content.decode()

    signal = raise_concern(measure_with_results)
    html = client.get(page).content.decode()
    assert f'<a href="/quality/signals/{signal.pk}/">{signal}</a> — New' in html

    services.do_close_signal(signal, reason="Explained by case mix", actor=client.user)
    assert f'<a href="/quality/signals/{signal.pk}/">{signal}</a> — Closed' in client.get(page).content.decode()
