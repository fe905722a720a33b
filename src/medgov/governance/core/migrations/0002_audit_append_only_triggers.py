"""Database-level guard: the audit trail refuses UPDATE and DELETE, whatever code path tries."""

from typing import Any

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TRIGGER core_auditevent_no_delete BEFORE DELETE ON core_auditevent
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_update",
    "DROP TRIGGER IF EXISTS core_auditevent_no_delete",
]

POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION core_auditevent_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER core_auditevent_no_change BEFORE UPDATE OR DELETE ON core_auditevent
       FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_change ON core_auditevent",
    "DROP FUNCTION IF EXISTS core_auditevent_append_only()",
]


def _run(statements: dict[str, list[str]]) -> Any:
    def apply(apps: Any, schema_editor: Any) -> None:
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        )
    ]
