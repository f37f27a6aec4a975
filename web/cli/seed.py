"""`tsunagu seed`: fill a database with realistic cases for measuring and trying Tsunagu at scale."""
from __future__ import annotations

import sys

import click

from tsunagu.engine.clock import system_clock
from tsunagu.engine.db import make_session_factory
from tsunagu.processes.seeding import seed_municipality

from .base import command_session, main, operator


@main.command("seed")
@click.option("--municipality", "code", required=True, help="the municipality's code (set up by `municipality add`)")
@click.option("--cases", type=click.IntRange(min=1), required=True, help="how many made-up cases to add")
@click.option("--open-share", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="the share of open cases; the others were closed over the past eight years")
@click.option("--seed", "seed_value", type=int, default=1, show_default=True, help="the same seed makes the same cases")
@click.option("--by", "username", default=None, metavar="USERNAME", help="the user the audit row names (optional)")
def seed(code: str, cases: int, open_share: float, seed_value: int, username: str | None) -> None:
    """Add made-up cases spread over the standard process (never to a municipality with real cases)."""
    with command_session() as (session, _clock):
        factory = make_session_factory(session.get_bind())  # seeding commits batch by batch in sessions of its own
        with click.progressbar(length=cases, label="ケースを作成しています", file=sys.stderr) as bar:
            done = seed_municipality(factory, code=code, cases=cases, open_share=open_share, seed=seed_value,
                                     now=system_clock(), operator=operator(), by=username, progress=bar.update)
    click.echo(f"{done.cases:,} 件のケースを作成しました（継続中 {done.open:,} 件、終結 {done.closed:,} 件、"
               f"見本として実行 {done.templates} 件）: {done.seconds:.1f} 秒")
    for position, count in done.by_position.items():
        click.echo(f"  {position}: {count:,}")
    if done.password:
        click.echo(f"見本の職員 {done.caseworkers} 人（seed-{code}-worker-1 など）のパスワード: {done.password}")

