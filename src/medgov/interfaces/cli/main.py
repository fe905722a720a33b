"""The ``medgov`` command line."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from medgov.config.env import ConfigurationError

app = typer.Typer(
    name="medgov",
    help="medgov: clinical governance for the office of the CMO.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line to stderr and return the exit to raise: errors here are for people, not tracebacks."""
    typer.echo(f"medgov: error: {message}", err=True)
    return typer.Exit(code)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medgov.config.settings")
    import django

    try:
        django.setup()
    except ConfigurationError as error:
        raise fail(str(error)) from None


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def manage(ctx: typer.Context) -> None:
    """Run a Django management command (migrate, shell, check, ...)."""
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["medgov manage", *ctx.args])


@app.command()
def migrate() -> None:
    """Create or upgrade the operational database."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    typer.echo("database is up to date")


# Pages spend their time in Python, which runs one thread per process at a time: one process per CPU, and one
# more to use the CPU while another waits on the database. Threads hold the browsers' keep-alive connections:
# with 3 x 8 a burst of 20 clients each has a thread, where with fewer some connections wait behind others and
# the slowest responses take seconds (docs/benchmarks.md has the measurements behind the choice).
DEFAULT_SERVE_THREADS = 8


def default_serve_workers() -> int:
    return (os.cpu_count() or 1) + 1


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None, typer.Option(help="Web worker processes (default: one per CPU, plus one).", min=1)
    ] = None,
    threads: Annotated[int, typer.Option(help="Threads per worker.", min=1)] = DEFAULT_SERVE_THREADS,
) -> None:
    """Serve the web application and API with gunicorn (static files included; no DEBUG needed)."""
    workers = workers or default_serve_workers()
    setup_django()
    from gunicorn.app.base import BaseApplication

    from medgov.config.wsgi import application

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", None)
            self.cfg.set("timeout", 120)

        def load(self) -> object:
            return application

    Server().run()


@app.command()
def worker(
    queue: Annotated[str, typer.Option(help="Queue to work on.")] = "default",
    batch: Annotated[bool, typer.Option(help="Exit once the queue is empty.")] = False,
) -> None:
    """Run background tasks from the database-backed queue (reminders, refreshes, reports)."""
    setup_django()
    from django.core.management import call_command

    arguments = ["--queue-name", queue]
    if batch:
        arguments.append("--batch")
    call_command("db_worker", *arguments)


@app.command()
def createuser(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[list[str], typer.Option("--role", help="Role (repeatable): cmo, quality_safety, ...")],
    password: Annotated[
        str | None, typer.Option(help="Password; prompted for when omitted.", envvar="MEDGOV_NEW_USER_PASSWORD")
    ] = None,
    email: Annotated[str, typer.Option(help="E-mail address for notices.")] = "",
    name: Annotated[str, typer.Option(help="Full name shown in the application.")] = "",
    department: Annotated[str, typer.Option(help="Department.")] = "",
) -> None:
    """Create a user with one or more roles."""
    from medgov.governance.accounts.choices import Role

    valid = {item.value for item in Role}
    for value in role:
        if value not in valid:
            raise fail(f"unknown role {value!r}; valid roles are: {', '.join(sorted(valid))}")
    setup_django()
    from django.core.exceptions import ValidationError

    from medgov.governance.accounts import services

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = services.do_create_user(
            username=username,
            password=password,
            roles=services.parse_roles(role),
            email=email,
            display_name=name,
            department=department,
            actor=None,
        )
    except ValidationError as error:
        raise fail("; ".join(error.messages)) from None
    typer.echo(f"created {user.username} with roles {', '.join(user.role_names)}")


def _register_subcommands() -> None:
    from medgov.interfaces.cli import (  # noqa: F401  (each registers its commands)
        bench,
        demo,
        ingest,
        measures,
        quality,
        report,
        safety,
        staff,
        synth,
    )


_register_subcommands()


def run() -> None:
    try:
        app()
    except ConfigurationError as error:
        typer.echo(f"medgov: error: {error}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    run()
