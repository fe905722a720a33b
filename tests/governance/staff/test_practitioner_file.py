import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from medgov.analytics.api import WarehousePractitioner
from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.staff import nppes, services
from medgov.governance.staff.choices import CredentialKind, CredentialStatus
from medgov.governance.staff.models import Appointment, Credential, Practitioner
from tests.governance.staff.conftest import npi_for

D = dt.date


def test_create_practitioner_audits_the_file(office, department):
    practitioner = services.do_create_practitioner(
        npi="1234567893",
        family_name="Okafor",
        given_name="Ada",
        credential_text="MD",
        taxonomy_code="207R00000X",
        department=department,
        actor=office,
    )
    event = AuditEvent.objects.get(action="staff.practitioner_create")
    assert (event.actor, event.object_id) == (office, str(practitioner.pk))
    assert event.after["npi"] == "1234567893"
    assert event.after["department"] == department.pk


@pytest.mark.parametrize(
    ("npi", "message"),
    [
        pytest.param("1234567890", "NPI 1234567890 fails the check digit (Luhn with prefix 80840)", id="luhn"),
        pytest.param("12345", "NPI '12345' must be exactly 10 digits", id="short"),
        pytest.param("12345678x3", "NPI '12345678x3' must be exactly 10 digits", id="letter"),
    ],
)
def test_invalid_npi_is_refused_and_nothing_is_stored(office, npi, message):
    with pytest.raises(ValidationError) as error:
        services.do_create_practitioner(npi=npi, family_name="X", given_name="Y", actor=office)
    assert error.value.message_dict == {"npi": [message]}
    assert (Practitioner.objects.count(), AuditEvent.objects.filter(action__startswith="staff.").count()) == (0, 0)


def test_duplicate_npi_is_refused(office):
    services.do_create_practitioner(npi="1234567893", family_name="A", given_name="B", actor=office)
    with pytest.raises(ValidationError) as error:
        services.do_create_practitioner(npi="1234567893", family_name="C", given_name="D", actor=office)
    assert error.value.message_dict == {"npi": ["a practitioner with NPI 1234567893 is already on file"]}


def test_the_database_refuses_a_malformed_npi_too(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Practitioner.objects.create(npi="12ab", family_name="X", given_name="Y")


def test_expiry_before_issue_date_is_refused_and_nothing_is_stored(office, make_practitioner):
    practitioner = make_practitioner(credentials=False)
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as error:
        services.do_add_credential(
            practitioner,
            kind=CredentialKind.STATE_LICENCE,
            issuer="Board",
            number="L1",
            state="MA",
            issued_on=D(2026, 1, 2),
            expires_on=D(2026, 1, 1),
            actor=office,
        )
    assert error.value.message_dict == {"expires_on": ["expiry date 2026-01-01 is before the issue date 2026-01-02"]}
    assert (Credential.objects.count(), AuditEvent.objects.count()) == (0, before)


def test_the_database_refuses_expiry_before_issue_too(make_practitioner):
    practitioner = make_practitioner(credentials=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Credential.objects.create(
            practitioner=practitioner,
            kind="state_licence",
            issuer="B",
            issued_on=D(2026, 1, 2),
            expires_on=D(2026, 1, 1),
        )


def test_credential_records_verifier_and_date(office, make_practitioner):
    practitioner = make_practitioner(credentials=False)
    credential = services.do_add_credential(
        practitioner,
        kind=CredentialKind.STATE_LICENCE,
        issuer="Massachusetts Board of Registration in Medicine",
        number="MD-77",
        state="ma",
        issued_on=D(2024, 1, 1),
        expires_on=D(2026, 12, 31),
        result="confirmed",
        verified_on=D(2026, 3, 9),
        verification_source="Board licence look-up",
        actor=office,
    )
    assert (credential.state, credential.verified_by, credential.verified_on) == ("MA", office, D(2026, 3, 9))


def test_a_renewed_licence_supersedes_the_old_record(office, make_practitioner):
    practitioner = make_practitioner()
    old = practitioner.credentials.get(kind=CredentialKind.STATE_LICENCE)
    new = services.do_add_credential(
        practitioner,
        kind=CredentialKind.STATE_LICENCE,
        issuer="State Medical Board",
        number="MD-1001",
        state="MA",
        issued_on=D(2026, 3, 1),
        expires_on=D(2028, 6, 30),
        result="confirmed",
        verified_on=D(2026, 3, 9),
        verification_source="board",
        actor=office,
    )
    old.refresh_from_db()
    assert (old.status, new.status) == (CredentialStatus.SUPERSEDED, CredentialStatus.ACTIVE)


def test_overlapping_appointments_are_refused(office, make_practitioner):
    practitioner = make_practitioner()
    first = services.do_appoint_practitioner(practitioner, starts_on=D(2024, 3, 15), category="active", actor=office)
    assert (first.starts_on, first.ends_on, first.reappointment_due_on) == (
        D(2024, 3, 15),
        D(2027, 3, 14),
        D(2027, 3, 15),
    )
    with pytest.raises(ValidationError) as error:
        services.do_appoint_practitioner(practitioner, starts_on=D(2027, 3, 14), category="active", actor=office)
    assert error.value.message_dict == {
        "starts_on": ["the appointment 2027-03-14 to 2030-03-13 overlaps the appointment 2024-03-15 to 2027-03-14"]
    }
    assert Appointment.objects.count() == 1
    second = services.do_appoint_practitioner(practitioner, starts_on=D(2027, 3, 15), category="active", actor=office)
    assert second.ends_on == D(2030, 3, 14)


def test_state_law_shortens_the_appointment(office, make_practitioner):
    services.policy_for()  # defaults
    from medgov.governance.staff.models import StaffPolicy

    StaffPolicy.objects.create(hospital="", state_reappointment_months={"MA": 24})
    practitioner = make_practitioner()
    appointment = services.do_appoint_practitioner(
        practitioner, starts_on=D(2024, 3, 15), category="active", actor=office
    )
    assert appointment.reappointment_due_on == D(2026, 3, 15)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        pytest.param(None, False, id="no-role"),
        pytest.param(Role.CLINICIAN, False, id="clinician"),
        pytest.param(Role.DEPARTMENT_CHIEF, False, id="chief"),
        pytest.param(Role.BOARD_MEMBER, False, id="board"),
        pytest.param(Role.AUDITOR, False, id="auditor"),
        pytest.param(Role.ADMINISTRATOR, False, id="administrator"),
        pytest.param(Role.MEDICAL_STAFF_OFFICE, True, id="office"),
        pytest.param(Role.CMO, True, id="cmo"),
    ],
)
def test_who_may_create_practitioners_and_credentials(make_user, role, allowed):
    actor = make_user(*([role] if role else []))
    events = AuditEvent.objects.count()
    if not allowed:
        with pytest.raises(PermissionDenied):
            services.do_create_practitioner(npi="1234567893", family_name="A", given_name="B", actor=actor)
        assert (Practitioner.objects.count(), AuditEvent.objects.count()) == (0, events)
        return
    practitioner = services.do_create_practitioner(npi="1234567893", family_name="A", given_name="B", actor=actor)
    services.do_add_credential(practitioner, kind="npdb_query", issuer="NPDB", actor=actor)
    assert (Practitioner.objects.count(), Credential.objects.count(), AuditEvent.objects.count()) == (1, 1, events + 2)


HEADER = (
    '"NPI","Entity Type Code","Replacement NPI","Employer Identification Number (EIN)",'
    '"Provider Last Name (Legal Name)","Provider First Name","Provider Middle Name","Provider Credential Text",'
    '"NPI Deactivation Date","Healthcare Provider Taxonomy Code_1","Provider License Number_1",'
    '"Provider License Number State Code_1","Healthcare Provider Primary Taxonomy Switch_1",'
    '"Healthcare Provider Taxonomy Code_2","Provider License Number_2","Provider License Number State Code_2",'
    '"Healthcare Provider Primary Taxonomy Switch_2"\n'
)


def _row(npi, entity="1", last="SMITH", first="JOHN", credential="M.D.", deactivated="", ein="<UNAVAIL>"):
    return (
        f'"{npi}","{entity}","","{ein}","{last}","{first}","Q","{credential}","{deactivated}",'
        '"207Q00000X","FM-1","NY","N","207R00000X","IM-77","MA","Y"\n'
    )


def _import(data, header=HEADER, actor=None):
    return services.do_import_nppes(
        header_text=header,
        data_text=data,
        header_name="npidata_pfile_fileheader.csv",
        data_name="npidata_pfile.csv",
        actor=actor,
    )


def test_nppes_import_reads_individuals_with_primary_taxonomy(office, department):
    data = (
        HEADER
        + _row(npi_for(11111111))
        + _row(npi_for(22222222), entity="2", last="GENERAL HOSPITAL", first="")
        + _row(npi_for(33333333), deactivated="01/02/2020")
        + _row(npi_for(44444444), last="O'BRIEN, JR", first="Mary Ann", ein="")
    )
    report = _import(data, actor=office)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    smith = Practitioner.objects.get(npi=npi_for(11111111))
    assert (smith.family_name, smith.given_name, smith.credential_text, smith.taxonomy_code) == (
        "Smith",
        "John",
        "MD",
        "207R00000X",
    )
    assert Practitioner.objects.get(npi=npi_for(44444444)).family_name == "O'Brien, Jr"
    assert _import(data, actor=office).unchanged == 2


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        pytest.param(
            '"NPI","Provider First Name"\n',
            _row("1234567893"),
            "npidata_pfile_fileheader.csv: missing NPPES column(s): 'Entity Type Code', "
            "'Provider Last Name (Legal Name)'",
            id="wrong-columns",
        ),
        pytest.param(
            HEADER,
            _row(npi_for(11111111)) + '"1234567893","1","",""SMITH","JOHN"\n',
            "npidata_pfile.csv, line 2: bad CSV quoting (',' expected after '\"')",
            id="bad-quoting",
        ),
        pytest.param(
            HEADER,
            _row(npi_for(11111111)) + _row("1234567890"),
            "npidata_pfile.csv, line 2: NPI 1234567890 fails the check digit (Luhn with prefix 80840)",
            id="invalid-npi",
        ),
        pytest.param(
            HEADER,
            _row(npi_for(11111111)) + '"1234567893","1"\n',
            "npidata_pfile.csv, line 2: 2 fields where the header names 17",
            id="short-row",
        ),
        pytest.param(
            HEADER,
            _row(npi_for(11111111)) + '"1234567893","1","","","SMITH\n',
            "npidata_pfile.csv, line 2: bad CSV quoting (unexpected end of data)",
            id="unterminated-quote",
        ),
        pytest.param(
            HEADER,
            _row(npi_for(11111111)) + _row(npi_for(11111111)),
            f"npidata_pfile.csv, line 2: NPI {npi_for(11111111)} already appears on line 1",
            id="duplicate",
        ),
        pytest.param(
            HEADER + HEADER,
            _row(npi_for(11111111)),
            "npidata_pfile_fileheader.csv: expected exactly one header line, found 2",
            id="two-header-lines",
        ),
    ],
)
def test_malformed_nppes_files_import_nothing(office, header, data, message):
    events = AuditEvent.objects.count()
    with pytest.raises(nppes.NppesFileError) as error:
        _import(data, header=header, actor=office)
    assert str(error.value) == message
    assert (Practitioner.objects.count(), AuditEvent.objects.count()) == (0, events)


def test_warehouse_import_links_by_npi_and_creates_the_rest(office, department, make_practitioner):
    department.warehouse_id = "org-medicine"
    department.save()
    existing = make_practitioner(credentials=False)
    records = [
        WarehousePractitioner(
            id="prac-1", npi=existing.npi, family="Doe", given="Jane", organization_id="org-medicine"
        ),
        WarehousePractitioner(
            id="prac-2",
            npi=npi_for(55555555),
            family="Roe",
            given="Rick",
            specialty_code="207RC0000X",
            specialty_display="Cardiovascular Disease",
            organization_id="org-medicine",
        ),
    ]
    report = services.do_import_warehouse_practitioners(records, actor=office)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    existing.refresh_from_db()
    assert existing.warehouse_id == "prac-1"
    roe = Practitioner.objects.get(warehouse_id="prac-2")
    assert (roe.department, roe.specialty, roe.taxonomy_code) == (department, "Cardiovascular Disease", "207RC0000X")


def test_warehouse_import_with_an_invalid_npi_imports_nothing(office):
    records = [
        WarehousePractitioner(id="prac-1", npi=npi_for(55555555), family="Roe", given="Rick"),
        WarehousePractitioner(id="prac-2", npi="1111111111", family="Bad", given="Npi"),
    ]
    with pytest.raises(ValidationError) as error:
        services.do_import_warehouse_practitioners(records, actor=office)
    assert error.value.messages == [
        "warehouse practitioner prac-2: NPI 1111111111 fails the check digit (Luhn with prefix 80840)"
    ]
    assert Practitioner.objects.count() == 0


def test_practitioner_directory_reads_the_warehouse(tmp_path):
    import duckdb

    from medgov.analytics import api

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "CREATE TABLE practitioner (id VARCHAR, npi VARCHAR, family VARCHAR, given VARCHAR, "
            "name VARCHAR, gender VARCHAR)"
        )
        connection.execute(
            "CREATE TABLE practitioner_role (id VARCHAR, practitioner_id VARCHAR, organization_id "
            "VARCHAR, location_id VARCHAR, role_code VARCHAR, specialty_system VARCHAR, "
            "specialty_code VARCHAR, specialty_display VARCHAR)"
        )
        connection.execute(
            "INSERT INTO practitioner VALUES ('p1', '1234567893', 'Roe', 'Rick', 'Rick Roe', 'male'),"
            " ('p2', '1245319599', 'Poe', 'Pat', 'Pat Poe', 'female')"
        )
        connection.execute(
            "INSERT INTO practitioner_role VALUES ('r2', 'p1', 'org-b', NULL, 'doctor', NULL, "
            "'207RC0000X', 'Cardiology'), ('r1', 'p1', 'org-a', NULL, 'doctor', NULL, '207R00000X', "
            "'Internal Medicine')"
        )
    assert api.practitioner_directory(path) == (
        WarehousePractitioner("p1", "1234567893", "Roe", "Rick", "207R00000X", "Internal Medicine", "org-a"),
        WarehousePractitioner("p2", "1245319599", "Poe", "Pat", "", "", ""),
    )
