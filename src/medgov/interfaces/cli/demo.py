"""``medgov demo``: a working system with demo data on the embedded defaults."""

from __future__ import annotations

from typing import Annotated

import typer

from medgov.interfaces.cli.demo_steps import DEMO_STEPS
from medgov.interfaces.cli.main import app, serve, setup_django

DEMO_PASSWORD = "medgov-demo-2026!"

DEMO_USERS: tuple[tuple[str, str, str, str], ...] = (
    ("cmo", "Dr. Alex Morgan", "cmo", ""),
    ("quality", "Jordan Lee", "quality_safety", "Quality & Patient Safety"),
    ("mso", "Sam Patel", "medical_staff_office", "Medical Staff Office"),
    ("chief", "Dr. Riley Chen", "department_chief", "Internal Medicine"),
    ("clinician", "Casey Brooks, RN", "clinician", "Internal Medicine"),
    ("board", "Pat Quinn", "board_member", ""),
    ("auditor", "Morgan Diaz", "auditor", ""),
    ("admin", "Taylor Admin", "administrator", ""),
)

# Later modules append their demo-data loaders to DEMO_STEPS (see demo_steps.py).


def ensure_demo_users() -> None:
    from medgov.governance.accounts import services
    from medgov.governance.accounts.choices import Role
    from medgov.governance.accounts.models import User

    for username, name, role, department in DEMO_USERS:
        if User.objects.filter(username=username).exists():
            continue
        services.do_create_user(
            username=username,
            password=DEMO_PASSWORD,
            roles=[Role(role)],
            display_name=name,
            department=department,
            email=f"{username}@demo.medgov.local",
            actor=None,
        )


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server when ready.")] = True,
) -> None:
    """Set up the embedded defaults with demo data, then serve at http://HOST:PORT."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    ensure_demo_users()
    for label, step in DEMO_STEPS:
        typer.echo(f"demo: {label}")
        step()
    typer.echo("")
    typer.echo(f"medgov demo is ready at http://{host}:{port}/")
    typer.echo(
        f"sign in as 'cmo' (or quality, mso, chief, clinician, board, auditor, admin) with password {DEMO_PASSWORD}"
    )
    if serve_after:
        serve(host=host, port=port, workers=2, threads=4)
