"""``medgov safety-reminders``: queue today's reminders for overdue triage, RCAs and actions (run daily, e.g.
from cron; ``medgov worker`` sends them)."""

from __future__ import annotations

from medgov.interfaces.cli.main import app, setup_django


@app.command("safety-reminders")
def safety_reminders() -> None:
    """Queue reminders for overdue safety-event triage, RCAs and actions."""
    setup_django()
    from medgov.governance.safety.tasks import send_safety_reminders

    result = send_safety_reminders.enqueue()
    print(f"queued safety reminders ({result.id})")
