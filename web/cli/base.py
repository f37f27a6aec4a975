"""The `tsunagu` command group and what its subcommands share: one session per command, clear errors.

Commands run as the operator who holds the database (the command line has no signed-in user); the
engine records them in the audit log as `via: cli` with the operating-system account that ran them.
"""
from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from tsunagu.engine.clock import Clock, system_clock
from tsunagu.engine.config import Settings
from tsunagu.engine.db import make_engine, make_session_factory
from tsunagu.engine.errors import DefinitionInvalid, FormInvalid, TsunaguError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Tsunagu: case management for loneliness and isolation support."""


@contextmanager
def command_session() -> Iterator[tuple[Session, Clock]]:
    """A database session and the clock for one command; engine errors become a clean exit 1."""
    settings = Settings.from_env()
    engine = make_engine(settings.database_url, settings.sqlite_busy_ms)
    session = make_session_factory(engine)()
    try:
        yield session, system_clock
    except TsunaguError as error:
        session.rollback()
        raise click.ClickException(describe(error)) from error
    finally:
        session.close()
        engine.dispose()


def operator() -> str:
    """The operating-system account running the command, recorded in the audit log."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): still record the command
        return "unknown"


def describe(error: TsunaguError) -> str:
    """One readable line per problem, each with its stable code and the field or element it concerns."""
    if isinstance(error, FormInvalid):
        return "\n".join(f"{e.field}: {e.code}" + (f" {e.params}" if e.params else "") for e in error.errors)
    if isinstance(error, DefinitionInvalid):
        return "\n".join(str(p) for p in error.problems) + f"\n{len(error.problems)} problem(s) found"
    where = f" [{error.element}]" if error.element else ""
    return f"{error.code}{where}: {error.message}"


def safe_url(url: str) -> str:
    """A database URL fit to print: never show its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
