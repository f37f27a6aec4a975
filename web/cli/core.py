"""`tsunagu init-db`, `demo`, `validate`, `scheduler` and `serve`: the installation itself."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from tsunagu.engine.clock import system_clock
from tsunagu.engine.commands.service import build_scheduler
from tsunagu.engine.config import Settings
from tsunagu.engine.db import make_engine, make_session_factory, upgrade_database
from tsunagu.engine.errors import TsunaguError
from tsunagu.processes.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from tsunagu.processes.loader import check_path
from tsunagu.web import create_app
from tsunagu.web.production import default_workers, production_problems
from tsunagu.web.production import serve as serve_production

from .base import main, safe_url


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema (Alembic)."""
    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    click.echo(f"database ready: {safe_url(settings.database_url)}")


@main.command()
def demo() -> None:
    """Add the demo municipality, its users and a few cases (never into a database with real data)."""
    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url, settings.sqlite_busy_ms)
    session = make_session_factory(engine)()
    try:
        created = load_demo(session, system_clock, Path(settings.process_dir))
    except TsunaguError as error:
        raise click.ClickException(error.message) from error
    finally:
        session.close()
        engine.dispose()
    click.echo("demo data created" if created else "demo data already present")
    click.echo(f"demo logins (password '{DEMO_PASSWORD}'): " + ", ".join(user[0] for user in DEMO_USERS))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check process folders, .bpmn files or .zip packages; exit 1 and name each bad element.

    Each problem is printed as file:line [element] (name): code: what to do; warnings follow and do not fail.
    """
    checked = [check_path(path) for path in paths]
    problems = [problem for _definitions, found, _warnings in checked for problem in found]
    for problem in problems:
        click.echo(str(problem), err=True)
    for warning in (warning for _definitions, _found, warnings in checked for warning in warnings):
        click.echo(f"warning: {warning}", err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(1)
    click.echo("ok: " + ", ".join(str(p) for p in paths))


@main.command()
def scheduler() -> None:
    """Fire due BPMN timers, announce due and overdue tasks, and send notification mail, until stopped."""
    settings = Settings.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    upgrade_database(settings.database_url)
    click.echo(f"scheduler: every {settings.scheduler_interval_s}s on {safe_url(settings.database_url)}")
    try:
        build_scheduler(settings, blocking=True).start()
    except (KeyboardInterrupt, SystemExit):
        pass


@main.command()
@click.option("--host", default=None, help="address to listen on (TSUNAGU_HOST)")
@click.option("--port", default=None, type=int, help="port (TSUNAGU_PORT)")
@click.option("--production", is_flag=True,
              help="serve with gunicorn: several worker processes, timeouts (needs TSUNAGU_SECRET_KEY)")
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="with --production: worker processes "
              "(default: cores + 1)")
@click.option("--timeout", default=60, show_default=True, type=click.IntRange(5, 600),
              help="with --production: seconds before a stuck request's worker is replaced")
@click.option("--access-log", is_flag=True, help="with --production: log every request to stderr")
def serve(host: str | None, port: int | None, production: bool, workers: int | None, timeout: int,
          access_log: bool) -> None:
    """Serve the web app: Werkzeug's server for a pilot or a demo, gunicorn with --production."""
    settings = Settings.from_env()
    if production:
        problems = production_problems(settings)
        if problems:
            raise click.ClickException("; ".join(problems))
        serve_production(settings, host=host or settings.host, port=port or settings.port,
                         workers=workers or default_workers(), timeout=timeout, access_log=access_log)
        return
    app = create_app({"SETTINGS": settings})
    if settings.scheduler_in_web:
        # Started here, not in create_app: `serve` never uses the reloader, so it runs exactly once.
        build_scheduler(settings, blocking=False).start()
        click.echo(f"scheduler running in this process every {settings.scheduler_interval_s}s")
    app.run(host=host or settings.host, port=port or settings.port, debug=False, use_reloader=False)

